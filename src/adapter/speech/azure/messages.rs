//! Sans-IO part of recognition: the service's messages (`Path` + JSON body,
//! see [`super::wire`]) and the assembly of a turn's phrases into one `Final`.
//!
//! In `conversation` mode the service segments a turn into several
//! `speech.phrase` results on its own pauses; the gateway does its own
//! turn-taking, so the phrases of one turn (ended by our empty audio
//! message, answered by `turn.end`) make one `Final`. Offsets and durations
//! are in 100 ns ticks from the start of the turn's audio.

use std::time::Duration;

use serde_json::Value;

use super::wire;
use crate::application::ports::speech::SttEvent;

/// A server message we act on.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum ServerMessage {
    TurnStart,
    SpeechStarted {
        at: Duration,
    },
    Hypothesis(Heard),
    Phrase(Phrase),
    SpeechEnded,
    TurnEnd,
    /// A path we do not use: ignored, for forward compatibility.
    Other(String),
}

/// Words with their span in the turn's audio.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Heard {
    pub(super) text: String,
    pub(super) start: Duration,
    pub(super) end: Duration,
}

/// What a `speech.phrase` says.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Phrase {
    /// Recognised words (`Success`).
    Words {
        heard: Heard,
        confidence: Option<f32>,
    },
    /// Nothing recognised: `NoMatch`, `InitialSilenceTimeout`,
    /// `BabbleTimeout`, `EndOfDictation`.
    Nothing,
    /// The service failed the turn (`Error`, `TooManyRequests`,
    /// `BadRequest`, `Forbidden`, or a status we do not know).
    Failed(String),
}

/// 100 ns ticks → a duration; absurd values saturate rather than panic.
fn ticks(v: &Value) -> Duration {
    let t = v.as_u64().unwrap_or_default();
    Duration::from_nanos(t.saturating_mul(100))
}

fn span(v: &Value) -> (Duration, Duration) {
    let start = ticks(&v["Offset"]);
    (start, start.saturating_add(ticks(&v["Duration"])))
}

fn json(body: &str) -> Result<Value, String> {
    let v: Value = serde_json::from_str(body).map_err(|e| format!("body is not JSON: {e}"))?;
    if v.is_object() {
        Ok(v)
    } else {
        Err("body is not a JSON object".into())
    }
}

/// Parses one text message from the service: its `X-RequestId` (the turn)
/// and what it says.
pub(super) fn parse(message: &str) -> Result<(Option<String>, ServerMessage), String> {
    let frame = wire::parse_text(message)?;
    let path = frame.path().ok_or("a message without a Path header")?;
    let request = frame.header("x-requestid").map(str::to_owned);
    Ok((request, parse_body(&path, &frame.body)?))
}

fn parse_body(path: &str, body: &str) -> Result<ServerMessage, String> {
    Ok(match path {
        "turn.start" => ServerMessage::TurnStart,
        "speech.startdetected" => ServerMessage::SpeechStarted {
            at: span(&json(body)?).0,
        },
        "speech.hypothesis" | "speech.fragment" => {
            let v = json(body)?;
            let text = v["Text"].as_str().ok_or("speech.hypothesis without Text")?;
            let (start, end) = span(&v);
            ServerMessage::Hypothesis(Heard {
                text: text.trim().to_owned(),
                start,
                end,
            })
        }
        "speech.phrase" => ServerMessage::Phrase(phrase(&json(body)?)?),
        "speech.enddetected" => ServerMessage::SpeechEnded,
        "turn.end" => ServerMessage::TurnEnd,
        other => ServerMessage::Other(other.to_owned()),
    })
}

fn phrase(v: &Value) -> Result<Phrase, String> {
    let status = v["RecognitionStatus"]
        .as_str()
        .ok_or("speech.phrase without RecognitionStatus")?;
    Ok(match status {
        "Success" => {
            // format=detailed: the best of NBest; simple: DisplayText.
            let best = &v["NBest"][0];
            let text = best["Display"]
                .as_str()
                .or_else(|| v["DisplayText"].as_str())
                .ok_or("a Success phrase without NBest[0].Display or DisplayText")?;
            let (start, end) = span(v);
            Phrase::Words {
                heard: Heard {
                    text: text.trim().to_owned(),
                    start,
                    end,
                },
                confidence: best["Confidence"].as_f64().map(|c| c as f32),
            }
        }
        "NoMatch" | "InitialSilenceTimeout" | "BabbleTimeout" | "EndOfDictation" => Phrase::Nothing,
        other => Phrase::Failed(other.to_owned()),
    })
}

/// The phrases of the current turn.
#[derive(Debug, Default)]
pub(super) struct Turn {
    phrases: Vec<String>,
    confidences: Vec<f32>,
    span: Option<(Duration, Duration)>,
}

impl Turn {
    /// The interim a hypothesis makes: the turn's phrases so far and it.
    /// `base` is the session's audio time when the turn began.
    pub(super) fn interim(&self, h: Heard, base: Duration) -> Option<SttEvent> {
        if h.text.is_empty() {
            return None;
        }
        let start = self.span.map_or(base.saturating_add(h.start), |(s, _)| s);
        let mut text = self.phrases.join(" ");
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(&h.text);
        Some(SttEvent::Interim {
            text,
            start,
            end: base.saturating_add(h.end).max(start),
            confidence: None,
        })
    }

    /// Adds a recognised phrase.
    pub(super) fn add(&mut self, heard: Heard, confidence: Option<f32>, base: Duration) {
        if heard.text.is_empty() {
            return;
        }
        let (s, e) = (
            base.saturating_add(heard.start),
            base.saturating_add(heard.end),
        );
        let start = self.span.map_or(s, |(first, _)| first);
        // Phrases out of order (a broken server) must not end before they start.
        self.span = Some((start, e.max(start)));
        self.phrases.push(heard.text);
        self.confidences.extend(confidence);
    }

    /// Whether any words were heard.
    pub(super) fn is_empty(&self) -> bool {
        self.phrases.is_empty()
    }

    /// The turn as a `Final` (empty if nothing was heard), reset.
    pub(super) fn take(&mut self, at: Duration) -> SttEvent {
        let (start, end) = self.span.take().unwrap_or((at, at));
        let confidence = (!self.confidences.is_empty())
            .then(|| self.confidences.iter().sum::<f32>() / self.confidences.len() as f32);
        self.confidences.clear();
        SttEvent::Final {
            text: std::mem::take(&mut self.phrases).join(" "),
            start,
            end,
            confidence,
        }
    }
}
