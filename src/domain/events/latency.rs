//! One turn's latency figures, as `call.ended` reports them.

use serde::{Deserialize, Serialize};

/// One turn's figures in milliseconds, as `call.ended` reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
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
