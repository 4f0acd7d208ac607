//! Pacer configuration.

use std::time::{Duration, Instant};

/// How a [`Pacer`](super::Pacer) numbers, stamps and bounds the packets it sends.
///
/// SSRC, first sequence number and first timestamp should be random (RFC 3550 §5.1);
/// the pacer reads no entropy source, so the caller picks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacerConfig {
    /// RTP payload type put on every packet (0 = PCMU, 8 = PCMA, 10 = L16 8 kHz).
    pub payload_type: u8,
    /// Synchronisation source put on every packet.
    pub ssrc: u32,
    /// Sequence number of the first packet.
    pub initial_sequence: u16,
    /// RTP timestamp of the first packet.
    pub initial_timestamp: u32,
    /// RTP clock rate in Hz: one 20 ms frame advances the timestamp by `clock_rate / 50`.
    pub clock_rate: u32,
    /// Largest encoded frame accepted, in bytes (160 for 20 ms of G.711 at 8 kHz).
    pub max_payload: usize,
    /// Most audio held at once; a push beyond it is refused.
    pub max_queued: Duration,
    /// A send later than its slot by more than this counts as a late send, and a
    /// frame pushed this late after its slot still takes that slot (no underrun).
    pub late_tolerance: Duration,
    /// A producer stall longer than this ends the talkspurt: the next frame starts a
    /// new one (marker bit set) instead of resuming the old schedule.
    pub max_underrun_gap: Duration,
    /// Slots on a grid shared with other pacers (`None`: a talkspurt starts at
    /// once). See [`SlotGrid`].
    pub slot_grid: Option<SlotGrid>,
}

/// A grid of instants, `epoch + k·step`, that talkspurts start on.
///
/// One thread sending for many pacers wakes once per distinct due time. Left
/// to themselves, the talkspurts of a few hundred calls start at scattered
/// instants, and their packets fall due at as many different moments of each
/// 20 ms: the thread wakes for nearly every packet. On a grid of `step` they
/// fall due on at most `20 ms / step` moments, and each wake sends all that
/// is due then. A talkspurt's first packet waits at most `step` for its
/// slot; every later packet keeps the exact 20 ms spacing. `step` should
/// divide 20 ms, so that every slot of a talkspurt stays on the grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotGrid {
    /// Any instant common to the pacers sharing the grid.
    pub epoch: Instant,
    /// The grid's spacing.
    pub step: Duration,
}

impl SlotGrid {
    /// The first grid point at or after `t` (the epoch for an earlier `t`).
    pub fn ceil(&self, t: Instant) -> Instant {
        let step = self.step.as_nanos().max(1);
        let since = t.saturating_duration_since(self.epoch).as_nanos();
        let k = since.div_ceil(step);
        let offset = u64::try_from(k * step).unwrap_or(u64::MAX);
        self.epoch + Duration::from_nanos(offset)
    }
}

impl Default for PacerConfig {
    /// G.711 µ-law at 8 kHz, 10 s of queue, 5 ms tolerance (the design's pacing
    /// jitter budget), 200 ms before a stall counts as the end of a talkspurt.
    fn default() -> Self {
        Self {
            payload_type: 0,
            ssrc: 0,
            initial_sequence: 0,
            initial_timestamp: 0,
            clock_rate: 8000,
            max_payload: 160,
            max_queued: Duration::from_secs(10),
            late_tolerance: Duration::from_millis(5),
            max_underrun_gap: Duration::from_millis(200),
            slot_grid: None,
        }
    }
}
