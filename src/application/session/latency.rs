//! Per-turn latency marks: where the time between the caller's last word and
//! the agent's first sound went.

use serde::Serialize;
use tokio::time::Instant;

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

/// One turn's figures in milliseconds, as `call.ended` reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct TurnLatency {
    /// Caller's end of speech → STT final.
    pub stt_ms: Option<f64>,
    /// Request to the agent → its first reply text.
    pub agent_ms: Option<f64>,
    /// First reply text → first TTS audio.
    pub tts_ms: Option<f64>,
    /// First TTS audio → handed to the media leg for pacing.
    pub media_ms: Option<f64>,
    /// Caller's end of speech → first agent audio out: what the caller waits.
    pub total_ms: Option<f64>,
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
