//! Distributed traces of a call, as the session sees them: the trace id its
//! logs and `call.ended` carry, and the stages of each turn, recorded once
//! the turn's figures are known (they are measured by the call core, on its
//! clock, so a stage span covers exactly what `call.ended` reports).
//!
//! The session's own `call` span is a plain `tracing` span; an adapter that
//! exports traces makes the stages its children. With traces off the session
//! holds [`NoTraces`]: nothing is measured or allocated for them.

use std::time::SystemTime;

/// A stage of a turn, from the caller's end of speech to the first agent
/// audio handed to the media leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnStage {
    /// End of speech → the recogniser's final.
    SpeechToText,
    /// Orchestrator request → its reply's first token.
    Agent,
    /// Synthesis request (the reply's first sentence) → its first audio.
    TextToSpeech,
    /// First audio → the first packet of it sent by the media leg.
    FirstPacket,
}

impl TurnStage {
    /// The span's name.
    pub fn span_name(self) -> &'static str {
        match self {
            Self::SpeechToText => "turn.stt",
            Self::Agent => "turn.agent",
            Self::TextToSpeech => "turn.tts",
            Self::FirstPacket => "turn.first_packet",
        }
    }
}

/// One measured stage of turn `turn` (from 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StageSpan {
    /// Which stage.
    pub stage: TurnStage,
    /// The caller turn it belongs to (0: the agent's own turn, e.g. the greeting).
    pub turn: u32,
    /// When it began.
    pub start: SystemTime,
    /// When it ended.
    pub end: SystemTime,
}

/// Where a call's trace goes.
pub trait CallTraces: Send + Sync + std::fmt::Debug {
    /// Whether traces are exported at all: when not, the session skips the
    /// work of describing its turns.
    fn enabled(&self) -> bool;
    /// The W3C trace id (32 hex digits) of `call`, the call's span, if it is
    /// sampled and exported.
    fn trace_id(&self, call: &tracing::Span) -> Option<String>;
    /// Records `stage` as a child span of `call`.
    fn stage(&self, call: &tracing::Span, stage: StageSpan);
}

/// Traces off.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoTraces;

impl CallTraces for NoTraces {
    fn enabled(&self) -> bool {
        false
    }
    fn trace_id(&self, _: &tracing::Span) -> Option<String> {
        None
    }
    fn stage(&self, _: &tracing::Span, _: StageSpan) {}
}
