//! Pacer for audio sent to Asterisk: bursts in, one packet every 20 ms out.
//!
//! Asterisk relays the RTP we send without re-timing it, so a burst of TTS audio
//! reaches the caller as a burst and is partly lost (fixture `11-rtp-bursts-*`).
//! The pacer owns the outbound schedule: the n-th packet of a talkspurt is due at
//! `start + n·20 ms`, never at `last send + 20 ms`, so a late wake-up never shifts
//! the packets after it.
//!
//! # Driving it
//! - [`Pacer::push`] each encoded 20 ms frame as it arrives (any pace).
//! - Sleep until [`Pacer::poll_timeout`] (`None`: nothing to send, sleep until the
//!   next push), then call [`Pacer::handle_timeout`] with the current time.
//! - Drain [`Pacer::poll_output`] until it returns `None`; each [`Packet`] is one
//!   RTP header plus payload to serialize and send. After a late wake-up several
//!   packets are due at once: they all come out, each counted late.
//! - [`Pacer::end_talkspurt`] when the TTS stream is complete, so that running dry
//!   afterwards is not an underrun; [`Pacer::flush`] on barge-in.
//!
//! Sequence numbers run on by one per packet for the life of the pacer; timestamps
//! follow the wall clock across silences (RFC 3550 §5.1), and the first packet of
//! each talkspurt carries the marker bit (RFC 3551 §4.1).

mod config;
mod queue;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_prop;

use std::time::{Duration, Instant};

pub use config::{PacerConfig, SlotGrid};
use queue::FrameQueue;

use crate::rtp::RtpHeader;

/// Length of one frame: one packet per this period.
pub const FRAME_DURATION: Duration = Duration::from_millis(20);

/// One packet ready to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    /// Header to serialize in front of the payload.
    pub header: RtpHeader,
    /// Encoded audio, exactly as pushed.
    pub payload: &'a [u8],
    /// The slot this packet was scheduled for (`start + n·20 ms`).
    pub due: Instant,
    /// Sent later than `due` by more than the configured tolerance.
    pub late: bool,
}

/// Why a frame was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    /// The queue already holds `max_queued` of audio; the frame was dropped.
    #[error("pacer queue full")]
    Full,
    /// The payload is larger than the configured `max_payload`.
    #[error("frame of {len} bytes exceeds the pacer's {max}-byte slots")]
    TooLarge {
        /// Size of the refused payload.
        len: usize,
        /// Configured slot size.
        max: usize,
    },
}

/// Running figures of a pacer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PacerStats {
    /// Packets handed out by [`Pacer::poll_output`].
    pub sent: u64,
    /// Packets sent more than `late_tolerance` after their slot.
    pub late_sends: u64,
    /// Times the queue ran dry mid-talkspurt and at least one slot went out empty.
    pub underruns: u64,
    /// Talkspurts started (packets sent with the marker bit).
    pub talkspurts: u64,
    /// Frames dropped by [`Pacer::flush`] over the pacer's life.
    pub flushed_frames: u64,
    /// Audio waiting to be sent.
    pub queued: Duration,
}

/// The schedule of the talkspurt being sent.
#[derive(Debug, Clone, Copy)]
struct Talkspurt {
    start: Instant,
    /// Slot index of the next packet: it is due at `start + next·20 ms`.
    next: u32,
    ts_start: u32,
}

impl Talkspurt {
    fn slot_time(&self, n: u32) -> Instant {
        self.start + FRAME_DURATION * n
    }
}

/// Drift-free RTP pacer. See the [module docs](self) for how to drive it.
#[derive(Debug)]
pub struct Pacer {
    config: PacerConfig,
    queue: FrameQueue,
    samples_per_frame: u32,
    /// `None` while idle: nothing queued and no talkspurt open.
    talkspurt: Option<Talkspurt>,
    /// The producer said the talkspurt is complete: go idle once drained.
    ending: bool,
    /// Barge-in hold: nothing goes out, the queue keeps its place.
    paused: bool,
    marker_pending: bool,
    next_sequence: u16,
    /// Slot time and timestamp of the last packet sent, to continue the
    /// timestamp across silences and never start a talkspurt on top of it.
    last_sent: Option<(Instant, u32)>,
    now: Option<Instant>,
    stats: PacerStats,
}

impl Pacer {
    /// A pacer with its queue allocated for `config.max_queued` of audio.
    pub fn new(config: PacerConfig) -> Self {
        let slots = config
            .max_queued
            .as_nanos()
            .div_ceil(FRAME_DURATION.as_nanos());
        let slots = usize::try_from(slots).unwrap_or(usize::MAX).max(1);
        Self {
            queue: FrameQueue::new(slots, config.max_payload),
            samples_per_frame: (config.clock_rate / 50).max(1),
            talkspurt: None,
            ending: false,
            paused: false,
            marker_pending: false,
            next_sequence: config.initial_sequence,
            last_sent: None,
            now: None,
            stats: PacerStats::default(),
            config,
        }
    }

    /// The configuration this pacer was built with.
    pub fn config(&self) -> &PacerConfig {
        &self.config
    }

    /// Queues one encoded 20 ms frame that arrived at `now`.
    ///
    /// The first frame after idle opens a talkspurt whose first packet is due at
    /// once (or 20 ms after the previous packet, if that was sent less than 20 ms
    /// ago), or at the next point of the [`SlotGrid`] from then. A frame that arrives after its slot has passed is an underrun: the
    /// schedule skips the empty slots and goes on, or, after a stall longer than
    /// `max_underrun_gap`, a new talkspurt starts.
    pub fn push(&mut self, now: Instant, payload: &[u8]) -> Result<(), PushError> {
        if payload.len() > self.queue.slot_size() {
            return Err(PushError::TooLarge {
                len: payload.len(),
                max: self.queue.slot_size(),
            });
        }
        if self.queue.is_full() {
            return Err(PushError::Full);
        }
        if self.queue.is_empty() {
            self.resume(now);
        }
        self.queue.push_back(payload);
        Ok(())
    }

    /// Places the schedule for a frame pushed into an empty queue at `now`.
    fn resume(&mut self, now: Instant) {
        let Some(ts) = self.talkspurt.as_mut() else {
            self.start_talkspurt(now);
            return;
        };
        let slot = ts.slot_time(ts.next);
        if now <= slot + self.config.late_tolerance {
            return;
        }
        self.stats.underruns += 1;
        if now - slot > self.config.max_underrun_gap {
            self.start_talkspurt(now);
            return;
        }
        // Skip the slots that went out empty: the next one at or after `now`.
        let elapsed = (now - ts.start).as_nanos();
        let next = elapsed.div_ceil(FRAME_DURATION.as_nanos());
        ts.next = u32::try_from(next).unwrap_or(u32::MAX);
    }

    fn start_talkspurt(&mut self, now: Instant) {
        let on_grid = |t: Instant| self.config.slot_grid.map_or(t, |g| g.ceil(t));
        let (start, ts_start) = match self.last_sent {
            None => (on_grid(now), self.config.initial_timestamp),
            Some((last_slot, last_ts)) => {
                // Never overlap the previous packet's 20 ms of audio.
                let start = on_grid(now.max(last_slot + FRAME_DURATION));
                (
                    start,
                    last_ts.wrapping_add(self.samples_in(start - last_slot)),
                )
            }
        };
        self.talkspurt = Some(Talkspurt {
            start,
            next: 0,
            ts_start,
        });
        self.ending = false;
        self.marker_pending = true;
    }

    /// Timestamp units in `d`, modulo 2^32 as RTP timestamps wrap.
    fn samples_in(&self, d: Duration) -> u32 {
        (d.as_nanos() * u128::from(self.config.clock_rate) / 1_000_000_000) as u32
    }

    /// When the next packet is due; `None` while there is nothing to send.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.queue.is_empty() || self.paused {
            return None;
        }
        self.talkspurt.map(|ts| ts.slot_time(ts.next))
    }

    /// Advances the pacer's clock to `now`; due packets then come out of
    /// [`Pacer::poll_output`]. Time never goes backwards: an earlier `now` is ignored.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = Some(self.now.map_or(now, |t| t.max(now)));
    }

    /// The next packet due at the time last given to [`Pacer::handle_timeout`].
    pub fn poll_output(&mut self) -> Option<Packet<'_>> {
        let now = self.now?;
        if self.paused {
            return None;
        }
        let mut ts = self.talkspurt?;
        let due = ts.slot_time(ts.next);
        if due > now || self.queue.is_empty() {
            return None;
        }
        let late = now - due > self.config.late_tolerance;
        let timestamp = ts
            .ts_start
            .wrapping_add(ts.next.wrapping_mul(self.samples_per_frame));
        let header = RtpHeader {
            marker: std::mem::take(&mut self.marker_pending),
            payload_type: self.config.payload_type,
            sequence: self.next_sequence,
            timestamp,
            ssrc: self.config.ssrc,
        };
        self.next_sequence = self.next_sequence.wrapping_add(1);
        ts.next += 1;
        self.last_sent = Some((due, timestamp));
        self.stats.sent += 1;
        self.stats.late_sends += u64::from(late);
        self.stats.talkspurts += u64::from(header.marker);
        self.talkspurt = Some(ts);
        if self.queue.len() == 1 && self.ending {
            self.talkspurt = None;
            self.ending = false;
        }
        let payload = self.queue.pop_front()?;
        Some(Packet {
            header,
            payload,
            due,
            late,
        })
    }

    /// The producer has pushed the whole talkspurt: running dry after the frames
    /// already queued ends it quietly instead of counting an underrun.
    pub fn end_talkspurt(&mut self) {
        if self.queue.is_empty() {
            self.talkspurt = None;
        } else {
            self.ending = true;
        }
    }

    /// Drops everything queued at once (barge-in) and returns how much audio that
    /// was. The next push starts a new talkspurt.
    pub fn flush(&mut self) -> Duration {
        let dropped = self.queue.clear();
        self.stats.flushed_frames += dropped as u64;
        self.talkspurt = None;
        self.ending = false;
        self.paused = false;
        FRAME_DURATION * u32::try_from(dropped).unwrap_or(u32::MAX)
    }

    /// Barge-in hold: stops sending at once and keeps every queued frame in
    /// its place (pushes still queue). [`Pacer::unpause`] goes on from the
    /// first frame not sent; [`Pacer::flush`] drops them instead.
    pub fn pause(&mut self) {
        self.paused = true;
    }

    /// Ends a [`Pacer::pause`] at `now`: the frames held go out from the next
    /// slot at or after `now`, as a new talkspurt (marker bit, timestamps
    /// continued over the gap), so no frame is skipped or sent twice.
    pub fn unpause(&mut self, now: Instant) {
        if !std::mem::take(&mut self.paused) {
            return;
        }
        let ending = self.ending;
        if self.queue.is_empty() {
            // Nothing held: the next push starts the talkspurt.
            self.talkspurt = None;
            self.ending = false;
            return;
        }
        self.start_talkspurt(now);
        self.ending = ending;
    }

    /// Whether a [`Pacer::pause`] is in force.
    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// Audio waiting to be sent.
    pub fn queued(&self) -> Duration {
        FRAME_DURATION * u32::try_from(self.queue.len()).unwrap_or(u32::MAX)
    }

    /// True when nothing is queued and no talkspurt is open.
    pub fn is_idle(&self) -> bool {
        self.talkspurt.is_none() && self.queue.is_empty()
    }

    /// Figures so far.
    pub fn stats(&self) -> PacerStats {
        PacerStats {
            queued: self.queued(),
            ..self.stats
        }
    }
}
