//! What each frame queued in the pacer is, in the pacer's own FIFO order.
//!
//! The pacer numbers and times packets but knows one payload type; telephone
//! events share its sequence space and schedule, so the outbound pipeline
//! remembers, per queued frame, whether it is audio or which DTMF packet it is.

/// The kind of one queued frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mark {
    Audio,
    /// First packet of a telephone event: marker bit, sets the event timestamp.
    DtmfStart,
    /// A later packet of the same event: carries the event's timestamp.
    DtmfMore,
}

/// Fixed-capacity ring, as deep as the pacer's queue: each frame's kind and
/// its audio level (RMS of its samples; 0 for DTMF), for the echo reference.
#[derive(Debug)]
pub(crate) struct Marks {
    ring: Box<[(Mark, u16)]>,
    head: usize,
    len: usize,
}

impl Marks {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            ring: vec![(Mark::Audio, 0); capacity.max(1)].into_boxed_slice(),
            head: 0,
            len: 0,
        }
    }

    pub(crate) fn room(&self) -> usize {
        self.ring.len() - self.len
    }

    /// Called only after the pacer accepted the frame, so it never overflows
    /// while the capacities match; if it did, the mark is dropped (the frame
    /// then goes out as audio) rather than panicking.
    pub(crate) fn push(&mut self, mark: Mark, level: u16) {
        if self.len < self.ring.len() {
            let i = (self.head + self.len) % self.ring.len();
            self.ring[i] = (mark, level);
            self.len += 1;
        }
    }

    pub(crate) fn pop(&mut self) -> (Mark, u16) {
        if self.len == 0 {
            return (Mark::Audio, 0);
        }
        let m = self.ring[self.head];
        self.head = (self.head + 1) % self.ring.len();
        self.len -= 1;
        m
    }

    pub(crate) fn clear(&mut self) {
        self.len = 0;
    }
}
