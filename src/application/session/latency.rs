//! Per-turn latency marks: where the time between the caller's last word and
//! the agent's first sound went.

pub use crate::domain::events::TurnLatency;
use std::time::Instant;

/// Marks of one turn, set as the turn goes.
#[derive(Debug, Clone, Default)]
pub(super) struct Marks {
    pub(super) speech_end: Option<Instant>,
    pub(super) stt_final: Option<Instant>,
    pub(super) request: Option<Instant>,
    pub(super) first_token: Option<Instant>,
    pub(super) first_audio: Option<Instant>,
    pub(super) first_play: Option<Instant>,
}

fn ms(a: Option<Instant>, b: Option<Instant>) -> Option<f64> {
    Some(b?.checked_duration_since(a?)?.as_secs_f64() * 1000.0)
}

impl Marks {
    pub(super) fn figures(&self) -> TurnLatency {
        TurnLatency {
            stt_ms: ms(self.speech_end, self.stt_final),
            agent_ms: ms(self.request, self.first_token),
            tts_ms: ms(self.first_token, self.first_audio),
            media_ms: ms(self.first_audio, self.first_play),
            total_ms: ms(self.speech_end.or(self.request), self.first_play),
        }
    }
}
