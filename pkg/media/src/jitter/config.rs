//! Jitter buffer configuration.

use std::time::Duration;

/// What to emit in place of a frame that never arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Concealment {
    /// An empty payload: the decoder produces one frame of silence (or runs its
    /// own loss concealment, as Opus can).
    #[default]
    Silence,
    /// The last frame played, again. Falls back to silence before the first one.
    RepeatLast,
}

/// When a frame that is here and next in sequence comes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Release {
    /// At its place on the talkspurt's time line, one playout delay after the
    /// talkspurt began: paced at the media rate, as an ear needs it.
    #[default]
    OnTime,
    /// As soon as it is here and the frame before it has come out. The
    /// playout delay is then only how long a missing frame is waited for
    /// before it is concealed. For machine readers (a VAD, a recogniser): a
    /// sender's stall and the burst after it, or a delay grown by one late
    /// packet, cost no standing lag — Asterisk relays most phones' streams
    /// for the whole call, one talkspurt that never re-anchors. The price: a
    /// talkspurt's first packet goes out at once, so one overtaken by the
    /// next at the very start of a talkspurt is late, not put back in order.
    InOrder,
}

/// Sizes, delays and policies of a [`JitterBuffer`](super::JitterBuffer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JitterConfig {
    /// RTP clock rate in Hz (8000 for G.711 and `slin`, 16000 for `slin16`).
    pub clock_rate: u32,
    /// Largest payload accepted, in bytes (640 = 20 ms of `slin16`).
    pub max_payload: usize,
    /// Packets held at most, rounded up to a power of two. Packets further ahead
    /// of the playout point than this are a discontinuity, never an allocation.
    pub capacity: usize,
    /// Playout delay at the start of each talkspurt when the network is calm.
    pub target_delay: Duration,
    /// Cap on the playout delay, however bad the observed jitter.
    pub max_delay: Duration,
    /// The adaptive target is this many times the RFC 3550 jitter estimate
    /// (never below `target_delay`, never above `max_delay`).
    pub jitter_multiplier: u32,
    /// What a lost frame becomes.
    pub concealment: Concealment,
    /// Consecutive frames concealed at most; a longer hole is skipped without
    /// output, since minutes of repeated audio help nobody.
    pub max_concealed_run: u32,
    /// When frames that are here come out.
    pub release: Release,
}

impl Default for JitterConfig {
    /// G.711 at 8 kHz, 60 ms target up to 200 ms, 32 slots of 640 bytes (20 KiB).
    fn default() -> Self {
        Self {
            clock_rate: 8000,
            max_payload: 640,
            capacity: 32,
            target_delay: Duration::from_millis(60),
            max_delay: Duration::from_millis(200),
            jitter_multiplier: 4,
            concealment: Concealment::Silence,
            max_concealed_run: 3,
            release: Release::OnTime,
        }
    }
}
