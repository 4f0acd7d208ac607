//! Transcribe streaming's response events (API reference,
//! `StartStreamTranscription` response: `TranscriptEvent`, and the
//! exceptions sent in the stream as `:message-type: exception`).

use std::time::Duration;

use serde::Deserialize;

use super::eventstream::Message;

/// One result of a `TranscriptEvent`.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// The first alternative's transcript.
    pub text: String,
    /// `IsPartial`: the result may still change.
    pub partial: bool,
    /// `StartTime` (audio time since the stream began).
    pub start: Duration,
    /// `EndTime`.
    pub end: Duration,
    /// Mean of the items' `Confidence`, when they carry one.
    pub confidence: Option<f32>,
}

/// What a message from the service says.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// A `TranscriptEvent`'s results.
    Transcript(Vec<Segment>),
    /// A modelled exception (`BadRequestException`, `LimitExceededException`,
    /// `InternalFailureException`, `ConflictException`,
    /// `ServiceUnavailableException`) or an unmodelled `error`.
    Exception {
        /// `:exception-type` or `:error-code`.
        kind: String,
        /// The payload's `Message` or `:error-message`.
        message: String,
    },
    /// Another event type: ignored.
    Other,
}

impl Incoming {
    /// Whether the exception is the caller's fault (no retry will help).
    pub fn refused(kind: &str) -> bool {
        kind == "BadRequestException"
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Event {
    transcript: Transcript,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Transcript {
    #[serde(default)]
    results: Vec<ResultJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ResultJson {
    #[serde(default)]
    alternatives: Vec<Alternative>,
    #[serde(default)]
    is_partial: bool,
    #[serde(default)]
    start_time: f64,
    #[serde(default)]
    end_time: f64,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Alternative {
    #[serde(default)]
    transcript: String,
    #[serde(default)]
    items: Vec<Item>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Item {
    confidence: Option<f64>,
}

#[derive(Deserialize)]
struct ExceptionBody {
    #[serde(alias = "message")]
    #[serde(rename = "Message", default)]
    message: String,
}

/// Reads one message; malformed JSON in a known event is an error.
pub fn parse(m: &Message) -> Result<Incoming, String> {
    match m.header(":message-type") {
        Some("event") => {}
        Some("exception") => {
            let kind = m
                .header(":exception-type")
                .unwrap_or("exception")
                .to_owned();
            let message = serde_json::from_slice::<ExceptionBody>(&m.payload)
                .map(|b| b.message)
                .unwrap_or_else(|_| {
                    String::from_utf8_lossy(&m.payload)
                        .chars()
                        .take(200)
                        .collect()
                });
            return Ok(Incoming::Exception { kind, message });
        }
        Some("error") => {
            let kind = m.header(":error-code").unwrap_or("error").to_owned();
            let message = m.header(":error-message").unwrap_or_default().to_owned();
            return Ok(Incoming::Exception { kind, message });
        }
        other => return Err(format!("event stream message of type {other:?}")),
    }
    if m.header(":event-type") != Some("TranscriptEvent") {
        return Ok(Incoming::Other);
    }
    let event: Event =
        serde_json::from_slice(&m.payload).map_err(|e| format!("TranscriptEvent: {e}"))?;
    Ok(Incoming::Transcript(
        event.transcript.results.into_iter().map(segment).collect(),
    ))
}

fn segment(r: ResultJson) -> Segment {
    let first = r.alternatives.into_iter().next();
    let (text, items) = first.map_or((String::new(), Vec::new()), |a| (a.transcript, a.items));
    let scores: Vec<f64> = items.iter().filter_map(|i| i.confidence).collect();
    let confidence = (!scores.is_empty())
        .then(|| (scores.iter().sum::<f64>() / scores.len() as f64).clamp(0.0, 1.0) as f32);
    Segment {
        text,
        partial: r.is_partial,
        start: seconds(r.start_time),
        end: seconds(r.end_time),
        confidence,
    }
}

/// Seconds as a duration; negative, infinite or absurd values give zero.
fn seconds(s: f64) -> Duration {
    Duration::try_from_secs_f64(s).unwrap_or(Duration::ZERO)
}
