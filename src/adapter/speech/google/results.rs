//! Sans-IO part of streaming recognition: turning `StreamingRecognizeResponse`s
//! into the port's events.
//!
//! Google settles an utterance piecewise: each response holds at most one
//! `is_final` result (the newly settled words) followed by interim results
//! whose transcripts, concatenated, are the unsettled rest. Offsets are
//! relative to the start of the gRPC stream; `base` moves them onto the
//! session's audio time, since a stream is opened per utterance.

use std::time::Duration;

use super::proto::{SpeechEventType, StreamingRecognizeResponse};
use crate::application::ports::speech::SttEvent;

/// The utterance being assembled from `is_final` results.
#[derive(Debug, Default)]
pub(super) struct Utterance {
    parts: Vec<String>,
    confidences: Vec<f32>,
    start: Option<Duration>,
    /// Audio time the results cover up to.
    end: Duration,
}

impl Utterance {
    /// The events one response yields; `base` is the audio time at which
    /// the stream began, `interim` whether the session wants hypotheses.
    pub(super) fn on_response(
        &mut self,
        r: &StreamingRecognizeResponse,
        base: Duration,
        interim: bool,
    ) -> Vec<SttEvent> {
        let mut events = Vec::new();
        let at = |d: Option<super::proto::Duration>| {
            base.saturating_add(d.map(super::proto::Duration::to_std).unwrap_or_default())
        };
        if r.speech_event_type == SpeechEventType::SpeechActivityBegin as i32 {
            events.push(SttEvent::SpeechStarted {
                at: at(r.speech_event_offset),
            });
        }
        let mut pending = String::new();
        let mut pending_end = None;
        for result in &r.results {
            let Some(top) = result.alternatives.first() else {
                continue;
            };
            let end = at(result.result_end_offset).max(self.end);
            if result.is_final {
                let text = top.transcript.trim();
                if !text.is_empty() {
                    self.start.get_or_insert(self.end.min(end));
                    self.parts.push(text.to_owned());
                    if top.confidence > 0.0 && top.confidence <= 1.0 {
                        self.confidences.push(top.confidence);
                    }
                }
                self.end = end;
            } else {
                pending.push_str(&top.transcript);
                pending_end = Some(end);
            }
        }
        let pending = pending.trim();
        if interim && !pending.is_empty() {
            let start = *self.start.get_or_insert(self.end);
            let mut text = self.parts.join(" ");
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(pending);
            events.push(SttEvent::Interim {
                text,
                start,
                end: pending_end.unwrap_or(self.end).max(start),
                confidence: None,
            });
        }
        events
    }

    /// Whether any words were settled.
    pub(super) fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// The utterance as a `Final` (empty if nothing was heard), reset;
    /// `at` is the audio time when nothing was heard.
    pub(super) fn take(&mut self, at: Duration) -> SttEvent {
        let end = self.end.max(at);
        let start = self.start.take().unwrap_or(end).min(end);
        let confidence = (!self.confidences.is_empty())
            .then(|| self.confidences.iter().sum::<f32>() / self.confidences.len() as f32);
        self.confidences.clear();
        SttEvent::Final {
            text: std::mem::take(&mut self.parts).join(" "),
            start,
            end,
            confidence,
        }
    }
}
