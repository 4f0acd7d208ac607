//! Sequence-number and timestamp arithmetic that survives wrap-around.
//!
//! RTP sequence numbers wrap every 65 536 packets (22 minutes at 50 pps) and
//! timestamps every 2^32 ticks (6.2 days at 8 kHz, but Asterisk starts them
//! anywhere), so every comparison goes through a wrapping difference.

/// Forward distance larger than this is a jump, not loss (RFC 3550 A.1 `MAX_DROPOUT`).
const MAX_DROPOUT: u16 = 3000;
/// Backward distance up to this is a late packet (RFC 3550 A.1 `MAX_MISORDER`).
const MAX_MISORDER: u16 = 100;

/// `a - b` for sequence numbers, as a signed distance: positive when `a` is newer.
pub fn seq_diff(a: u16, b: u16) -> i16 {
    a.wrapping_sub(b) as i16
}

/// `a - b` for RTP timestamps, as a signed distance: positive when `a` is later.
pub fn ts_diff(a: u32, b: u32) -> i32 {
    a.wrapping_sub(b) as i32
}

/// `a - b` for extended (non-wrapping) timestamps from [`TimestampExtender`].
pub fn ts_diff_i64(a: i64, b: i64) -> i64 {
    a.wrapping_sub(b)
}

/// What one sequence number meant to a [`SeqTracker`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqUpdate {
    /// The first packet seen; its extended sequence number.
    First {
        /// Extended sequence number (cycle count × 65536 + seq).
        ext: u64,
    },
    /// Newer than anything seen so far, `gap` packets after the previous highest
    /// minus one (0 = no loss).
    InOrder {
        /// Extended sequence number.
        ext: u64,
        /// Sequence numbers skipped between the previous highest and this one.
        gap: u16,
    },
    /// Older than or equal to the highest seen (reordered or duplicate), within
    /// the misorder window.
    Late {
        /// Extended sequence number.
        ext: u64,
    },
    /// A jump too large to be loss and too far back to be reordering. Not
    /// accepted: if the next packet follows it, the sender restarted and the
    /// tracker re-initialises (RFC 3550 A.1 `bad_seq`).
    Jump,
    /// The packet after a [`SeqUpdate::Jump`] followed it: the tracker restarted
    /// from here with cycle count 0.
    Restart {
        /// Extended sequence number in the new numbering.
        ext: u64,
    },
}

/// Extends 16-bit sequence numbers to 64 bits by counting wraps (RFC 3550 A.1,
/// without the probation step: Asterisk's first packets are trusted).
#[derive(Debug, Clone, Default)]
pub struct SeqTracker {
    state: Option<SeqState>,
}

#[derive(Debug, Clone, Copy)]
struct SeqState {
    cycles: u64,
    max_seq: u16,
    bad_seq: Option<u16>,
}

impl SeqState {
    fn new(seq: u16) -> Self {
        SeqState {
            cycles: 0,
            max_seq: seq,
            bad_seq: None,
        }
    }
    fn highest(&self) -> u64 {
        self.cycles | u64::from(self.max_seq)
    }
}

impl SeqTracker {
    /// A tracker that has seen nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Classifies `seq` and updates the highest sequence number and cycle count.
    pub fn update(&mut self, seq: u16) -> SeqUpdate {
        let Some(s) = self.state.as_mut() else {
            self.state = Some(SeqState::new(seq));
            return SeqUpdate::First {
                ext: u64::from(seq),
            };
        };
        let udelta = seq.wrapping_sub(s.max_seq);
        if udelta == 0 {
            return SeqUpdate::Late { ext: s.highest() };
        }
        if udelta < MAX_DROPOUT {
            if seq < s.max_seq {
                s.cycles += 1 << 16;
            }
            s.max_seq = seq;
            s.bad_seq = None;
            return SeqUpdate::InOrder {
                ext: s.highest(),
                gap: udelta - 1,
            };
        }
        if udelta <= u16::MAX - MAX_MISORDER + 1 {
            if s.bad_seq == Some(seq) {
                *s = SeqState::new(seq);
                return SeqUpdate::Restart {
                    ext: u64::from(seq),
                };
            }
            s.bad_seq = Some(seq.wrapping_add(1));
            return SeqUpdate::Jump;
        }
        // Within MAX_MISORDER behind the highest. Before the first wrap a late
        // packet from the previous cycle cannot be extended below zero, so it
        // is clamped to 0 (it is older than anything a jitter buffer holds).
        let back = u64::from(s.max_seq.wrapping_sub(seq));
        SeqUpdate::Late {
            ext: s.highest().saturating_sub(back),
        }
    }

    /// Highest extended sequence number accepted so far.
    pub fn highest(&self) -> Option<u64> {
        self.state.map(|s| s.highest())
    }

    /// Number of times the 16-bit sequence number wrapped.
    pub fn cycles(&self) -> u64 {
        self.state.map_or(0, |s| s.cycles >> 16)
    }

    /// Forgets everything (new SSRC).
    pub fn reset(&mut self) {
        self.state = None;
    }
}

/// Extends 32-bit RTP timestamps to `i64` relative to the first one seen.
///
/// Each timestamp is placed at the signed 32-bit distance from the latest one,
/// so reordered packets land just before it and wraps count forward.
#[derive(Debug, Clone, Default)]
pub struct TimestampExtender {
    last: Option<(u32, i64)>,
}

impl TimestampExtender {
    /// An extender that has seen nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Extended value of `ts`; the first timestamp maps to its own value.
    pub fn extend(&mut self, ts: u32) -> i64 {
        let ext = match self.last {
            None => i64::from(ts),
            Some((raw, ext)) => ext + i64::from(ts_diff(ts, raw)),
        };
        // Only move forward, so one very late packet does not drag the reference back.
        if self.last.is_none_or(|(_, e)| ext > e) {
            self.last = Some((ts, ext));
        }
        ext
    }

    /// Forgets the reference (new SSRC).
    pub fn reset(&mut self) {
        self.last = None;
    }
}
