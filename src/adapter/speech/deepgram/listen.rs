//! Sans-IO part of live recognition: parsing `/v1/listen` messages and
//! assembling Deepgram's `is_final` segments into one `Final` per utterance.
//!
//! Deepgram finalises an utterance piecewise: several `Results` with
//! `is_final: true`, the last of which has `speech_final: true` (endpointing)
//! or `from_finalize: true` (our `Finalize`); `UtteranceEnd` may close it
//! instead when endpointing missed the gap.

use std::time::Duration;

use serde_json::Value;

use crate::application::ports::speech::SttEvent;

/// A server message we act on.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Message {
    Results(Results),
    SpeechStarted {
        at: Duration,
    },
    UtteranceEnd,
    Metadata,
    /// An in-band error (`{"type":"Error", …}`).
    Error(String),
    /// A type we do not know: ignored, for forward compatibility.
    Other(String),
}

/// One `Results` message, reduced to what the port needs.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Results {
    pub(super) transcript: String,
    pub(super) confidence: Option<f32>,
    pub(super) is_final: bool,
    pub(super) speech_final: bool,
    pub(super) from_finalize: bool,
    pub(super) start: Duration,
    pub(super) end: Duration,
}

fn seconds(v: &Value) -> Duration {
    v.as_f64()
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .unwrap_or_default()
}

/// Parses one text message; `Err` for anything that is not a JSON object
/// with a `type`, or a `Results` without its transcript.
pub(super) fn parse(text: &str) -> Result<Message, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let kind = v["type"].as_str().ok_or("a message without a type")?;
    Ok(match kind {
        "Results" => {
            let alt = &v["channel"]["alternatives"][0];
            let transcript = alt["transcript"]
                .as_str()
                .ok_or("Results without channel.alternatives[0].transcript")?;
            let start = seconds(&v["start"]);
            Message::Results(Results {
                transcript: transcript.trim().to_owned(),
                confidence: alt["confidence"].as_f64().map(|c| c as f32),
                is_final: v["is_final"].as_bool().unwrap_or(false),
                speech_final: v["speech_final"].as_bool().unwrap_or(false),
                from_finalize: v["from_finalize"].as_bool().unwrap_or(false),
                start,
                // Saturating: absurd times from a broken server must not panic the session.
                end: start.saturating_add(seconds(&v["duration"])),
            })
        }
        "SpeechStarted" => Message::SpeechStarted {
            at: seconds(&v["timestamp"]),
        },
        "UtteranceEnd" => Message::UtteranceEnd,
        "Metadata" => Message::Metadata,
        "Error" => {
            let said = ["description", "message", "err_msg", "error"]
                .iter()
                .find_map(|k| v[*k].as_str())
                .unwrap_or("unspecified error");
            Message::Error(said.to_owned())
        }
        other => Message::Other(other.to_owned()),
    })
}

/// The utterance being assembled from `is_final` segments.
#[derive(Debug, Default)]
pub(super) struct Utterance {
    parts: Vec<String>,
    confidences: Vec<f32>,
    span: Option<(Duration, Duration)>,
}

impl Utterance {
    /// The event a `Results` yields, if any. `answer_finish` asks for a
    /// `Final` even when nothing was heard (a `finish()` is pending).
    pub(super) fn on_results(
        &mut self,
        r: Results,
        interim: bool,
        answer_finish: bool,
    ) -> Option<SttEvent> {
        if !r.is_final {
            if !interim || r.transcript.is_empty() {
                return None;
            }
            let start = self.span.map_or(r.start, |(s, _)| s);
            let mut text = self.parts.join(" ");
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(&r.transcript);
            return Some(SttEvent::Interim {
                text,
                start,
                end: r.end.max(start),
                confidence: r.confidence,
            });
        }
        if !r.transcript.is_empty() {
            self.parts.push(r.transcript);
            self.confidences.extend(r.confidence);
            let start = self.span.map_or(r.start, |(s, _)| s);
            // Segments out of order (a broken server) must not end before they start.
            self.span = Some((start, r.end.max(start)));
        }
        let ends = r.speech_final || r.from_finalize;
        (ends && (answer_finish || !self.parts.is_empty())).then(|| self.take(r.end))
    }

    /// `UtteranceEnd`: closes an utterance endpointing did not.
    pub(super) fn on_utterance_end(&mut self, at: Duration) -> Option<SttEvent> {
        (!self.parts.is_empty()).then(|| self.take(at))
    }

    /// The utterance as a `Final` (empty if nothing was heard), reset.
    pub(super) fn take(&mut self, at: Duration) -> SttEvent {
        let (start, end) = self.span.take().unwrap_or((at, at));
        let confidence = (!self.confidences.is_empty())
            .then(|| self.confidences.iter().sum::<f32>() / self.confidences.len() as f32);
        self.confidences.clear();
        let text = std::mem::take(&mut self.parts).join(" ");
        SttEvent::Final {
            text,
            start,
            end,
            confidence,
        }
    }
}
