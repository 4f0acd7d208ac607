//! Jitter buffer for audio from Asterisk: RTP packets in, frames on time out.
//!
//! Packets are copied into a preallocated ring indexed by sequence number, put
//! back in order, and released at their playout time: the time the talkspurt's
//! first packet arrived, plus the playout delay, plus their media timestamp
//! offset. Duplicates and packets whose time has passed are dropped; a frame
//! missing at its time, while later ones are already here, is concealed.
//!
//! # Silence is not loss
//! In a two-party bridge Asterisk sends nothing while the caller is silent
//! (fixture `11-rtp-arrivals.csv`). So the buffer conceals only holes *between*
//! packets it holds: when it runs empty it simply stops, emits nothing, and
//! [`JitterBuffer::poll_timeout`] returns `None`. The next packet, whatever its
//! sequence number, starts a new talkspurt and re-anchors the playout, which is
//! also when the delay adapts to the jitter measured so far (RFC 3550 §6.4.1).
//! A marker bit re-anchors as well, and an SSRC change resets the stream.
//!
//! # Driving it
//! - [`JitterBuffer::insert`] every parsed packet with its arrival time.
//! - Sleep until [`JitterBuffer::poll_timeout`], then [`JitterBuffer::handle_timeout`]
//!   with the current time and drain [`JitterBuffer::poll_output`]
//!   (or call [`JitterBuffer::pop`], which does both, in a loop).
//! - Each [`Frame`] is either received audio or a concealed frame, flagged so the
//!   decoder can run its own concealment or the pipeline can tell STT.

mod config;
mod estimator;
mod insert;
mod playout;
mod slots;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_fixture;
#[cfg(test)]
mod tests_prop;

use std::time::{Duration, Instant};

pub use config::{Concealment, JitterConfig, Release};
use estimator::JitterEstimator;
use slots::Slots;

use crate::rtp::ts_diff;

/// RTP frames are 20 ms long on every Asterisk path this buffer serves.
const FRAME: Duration = Duration::from_millis(20);
/// RFC 3550 A.1: a forward jump larger than this is a restart, not loss.
const MAX_DROPOUT: u16 = 3000;
/// RFC 3550 A.1: a backward step larger than this is a restart, not a late packet.
const MAX_MISORDER: u16 = 100;

/// What [`JitterBuffer::insert`] did with a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Insert {
    /// Held for playout.
    Buffered,
    /// A copy of a packet already held or played: dropped.
    Duplicate,
    /// Its playout time has passed: dropped.
    Late,
    /// Larger than the configured `max_payload`: dropped.
    TooLarge,
}

/// Whether a frame is received audio or stands in for a lost one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    /// Audio as received.
    Audio,
    /// Stands in for a packet that did not arrive in time. With
    /// [`Concealment::Silence`] the payload is empty.
    Concealed(Concealment),
}

/// One frame due for decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// RTP sequence number (of the missing packet, when concealed).
    pub sequence: u16,
    /// RTP timestamp (estimated, when concealed).
    pub timestamp: u32,
    /// Payload type (of the previous frame, when concealed).
    pub payload_type: u8,
    /// Encoded bytes; empty for silence concealment.
    pub payload: &'a [u8],
    /// Received or concealed.
    pub kind: FrameKind,
    /// First frame after idle, a marker bit or a reset: decoders may reset state.
    pub talkspurt_start: bool,
    /// The time this frame was scheduled to play.
    pub playout: Instant,
}

/// Running figures of a jitter buffer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JitterStats {
    /// Packets accepted into the buffer.
    pub received: u64,
    /// Sequence numbers never played: concealed, skipped, or given up on.
    pub lost: u64,
    /// Frames emitted as concealment (a subset of `lost`).
    pub concealed: u64,
    /// Packets dropped because their playout time had passed (including
    /// stragglers of the previous SSRC just after a change).
    pub late: u64,
    /// Packets dropped as copies of one already held or played.
    pub duplicate: u64,
    /// Packets accepted although a higher sequence number had arrived first.
    pub reordered: u64,
    /// Packets dropped as larger than `max_payload`.
    pub oversized: u64,
    /// Held packets given up because a packet arrived too far ahead to fit.
    pub overflow: u64,
    /// SSRC changes seen (each resets the stream).
    pub ssrc_changes: u64,
    /// Sequence-number jumps treated as a sender restart.
    pub restarts: u64,
    /// Talkspurts started (playout re-anchored).
    pub talkspurts: u64,
    /// Audio held now.
    pub depth: Duration,
    /// Playout delay in force for the current talkspurt.
    pub delay: Duration,
    /// RFC 3550 interarrival jitter estimate.
    pub jitter: Duration,
}

/// Where the current talkspurt plays: a timestamp anchored to an instant.
#[derive(Debug, Clone, Copy)]
struct Playout {
    /// Playout instant of `anchor_ts`; rolls forward with every frame emitted so
    /// timestamp differences stay small.
    anchor_at: Instant,
    anchor_ts: u32,
    delay: Duration,
    next_seq: u16,
    next_ts: u32,
    /// A frame of this talkspurt has been emitted.
    started: bool,
    concealed_run: u32,
    last_emit: Option<Instant>,
    /// Sequence number of the last frame emitted, played or concealed.
    last_seq: Option<u16>,
    /// Sequence numbers counted lost when this talkspurt started after a gap:
    /// `[gap_from, gap_from + gap_len)`. One of them turning up reordered
    /// before anything played is taken back off the count.
    gap_from: u16,
    gap_len: u16,
}

impl Playout {
    fn at(&self, ts: u32, clock_rate: u32) -> Instant {
        let d = i64::from(ts_diff(ts, self.anchor_ts));
        let offset = Duration::from_nanos(d.unsigned_abs() * 1_000_000_000 / u64::from(clock_rate));
        if d >= 0 {
            self.anchor_at + offset
        } else {
            self.anchor_at.checked_sub(offset).unwrap_or(self.anchor_at)
        }
    }
}

/// Adaptive RTP jitter buffer. See the [module docs](self) for how to drive it.
#[derive(Debug)]
pub struct JitterBuffer {
    config: JitterConfig,
    slots: Slots,
    samples_per_frame: u32,
    playout: Option<Playout>,
    ssrc: Option<u32>,
    /// The SSRC before the last change, and when it changed: its stragglers
    /// are dropped for a while instead of switching back.
    previous_ssrc: Option<(u32, Instant)>,
    buffered: usize,
    /// Highest sequence number held in the current talkspurt.
    highest: u16,
    estimator: JitterEstimator,
    last_payload: Box<[u8]>,
    last_len: usize,
    last_payload_type: u8,
    now: Option<Instant>,
    stats: JitterStats,
}

impl JitterBuffer {
    /// A buffer with all its memory allocated now.
    pub fn new(config: JitterConfig) -> Self {
        let config = JitterConfig {
            clock_rate: config.clock_rate.max(50),
            ..config
        };
        let slots = Slots::new(config.capacity, config.max_payload);
        Self {
            last_payload: vec![0; slots.slot_size()].into_boxed_slice(),
            slots,
            samples_per_frame: config.clock_rate / 50,
            playout: None,
            ssrc: None,
            previous_ssrc: None,
            buffered: 0,
            highest: 0,
            estimator: JitterEstimator::default(),
            last_len: 0,
            last_payload_type: 0,
            now: None,
            stats: JitterStats::default(),
            config,
        }
    }

    /// The configuration in force (capacity as rounded up).
    pub fn config(&self) -> JitterConfig {
        JitterConfig {
            capacity: self.slots.capacity(),
            ..self.config
        }
    }

    /// Drops everything held and forgets the stream; counters are kept.
    pub fn reset(&mut self) {
        self.slots.clear();
        self.playout = None;
        self.buffered = 0;
        self.estimator.restart();
        self.last_len = 0;
    }

    /// SSRC of the stream being played, once a packet has arrived.
    pub fn ssrc(&self) -> Option<u32> {
        self.ssrc
    }

    /// Packets held, waiting for their playout time.
    pub fn len(&self) -> usize {
        self.buffered
    }

    /// True when nothing is held: the buffer is idle until the next packet.
    pub fn is_empty(&self) -> bool {
        self.buffered == 0
    }

    /// Figures so far.
    pub fn stats(&self) -> JitterStats {
        JitterStats {
            depth: FRAME * self.buffered as u32,
            delay: self.playout.map_or(Duration::ZERO, |p| p.delay),
            jitter: self.estimator.jitter(),
            ..self.stats
        }
    }

    /// The playout delay a talkspurt starting now would get.
    fn target(&self) -> Duration {
        let cap = self.config.max_delay.max(self.config.target_delay);
        (self.estimator.jitter() * self.config.jitter_multiplier)
            .clamp(self.config.target_delay, cap)
    }
}
