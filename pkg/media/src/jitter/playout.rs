//! The way out: which frame is due, and when.

use std::time::Instant;

use super::slots::SlotMeta;
use super::{Concealment, FRAME, Frame, FrameKind, JitterBuffer, Playout, Release};

impl JitterBuffer {
    /// When the next frame is due; `None` while the buffer is empty (silence
    /// or idle), until the next insert.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let p = self.playout.as_ref()?;
        if self.buffered == 0 {
            return None;
        }
        Some(match self.slots.buffered(p.next_seq) {
            Some(m) => self.due(p, m),
            None => p.at(p.next_ts, self.config.clock_rate),
        })
    }

    /// Advances the buffer's clock; due frames then come out of
    /// [`JitterBuffer::poll_output`]. An earlier `now` than before is ignored.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = Some(self.now.map_or(now, |t| t.max(now)));
    }

    /// [`JitterBuffer::handle_timeout`] then [`JitterBuffer::poll_output`].
    pub fn pop(&mut self, now: Instant) -> Option<Frame<'_>> {
        self.handle_timeout(now);
        self.poll_output()
    }

    /// The next frame due at the time last given to [`JitterBuffer::handle_timeout`].
    pub fn poll_output(&mut self) -> Option<Frame<'_>> {
        let now = self.now?;
        loop {
            let p = self.playout?;
            if self.buffered == 0 {
                return None;
            }
            if let Some(m) = self.slots.buffered(p.next_seq).copied() {
                let due = self.due(&p, &m);
                if due > now {
                    return None;
                }
                return Some(self.emit_audio(p, m, due));
            }
            let due = p.at(p.next_ts, self.config.clock_rate);
            if due > now {
                return None;
            }
            if p.concealed_run < self.config.max_concealed_run {
                return Some(self.emit_concealed(p, due));
            }
            self.skip_hole(p);
        }
    }

    /// Playout time of a held packet. A marker bit after the talkspurt started
    /// means the sender began a new one: it plays one delay after it arrived,
    /// not where the old timestamps would put it.
    ///
    /// With [`Release::InOrder`] a held packet next in sequence is due when it
    /// arrived, never before the last frame out.
    fn due(&self, p: &Playout, m: &SlotMeta) -> Instant {
        if let (Release::InOrder, Some(arrival)) = (self.config.release, m.arrival) {
            return p.last_emit.map_or(arrival, |e| arrival.max(e));
        }
        match (m.marker && p.started, m.arrival) {
            (true, Some(arrival)) => {
                let fresh = arrival + self.target();
                p.last_emit.map_or(fresh, |e| fresh.max(e + FRAME))
            }
            _ => p.at(m.ts, self.config.clock_rate),
        }
    }

    fn emit_audio(&mut self, mut p: Playout, m: SlotMeta, due: Instant) -> Frame<'_> {
        let talkspurt_start = !p.started || m.marker;
        if p.started && m.marker {
            p.delay = self.target();
            self.stats.talkspurts += 1;
        }
        // The next frame is concealed if still missing one frame after this
        // one's place on the time line: with in-order release, its arrival
        // plus the delay, at least a frame (it came out sooner).
        p.anchor_at = match (self.config.release, m.arrival) {
            (Release::InOrder, Some(arrival)) => due.max(arrival + p.delay.max(FRAME)),
            _ => due,
        };
        p.anchor_ts = m.ts;
        p.next_seq = m.seq.wrapping_add(1);
        p.next_ts = m.ts.wrapping_add(self.samples_per_frame);
        p.started = true;
        p.concealed_run = 0;
        p.last_emit = Some(due);
        p.last_seq = Some(m.seq);
        self.playout = Some(p);
        self.buffered -= 1;
        let payload = self.slots.take(m.seq);
        if self.config.concealment == Concealment::RepeatLast {
            self.last_payload[..payload.len()].copy_from_slice(payload);
            self.last_len = payload.len();
        }
        self.last_payload_type = m.payload_type;
        Frame {
            sequence: m.seq,
            timestamp: m.ts,
            payload_type: m.payload_type,
            payload,
            kind: FrameKind::Audio,
            talkspurt_start,
            playout: due,
        }
    }

    fn emit_concealed(&mut self, mut p: Playout, due: Instant) -> Frame<'_> {
        let (sequence, timestamp) = (p.next_seq, p.next_ts);
        p.anchor_at = due;
        p.anchor_ts = timestamp;
        p.next_seq = sequence.wrapping_add(1);
        p.next_ts = timestamp.wrapping_add(self.samples_per_frame);
        p.concealed_run += 1;
        p.last_emit = Some(due);
        p.last_seq = Some(sequence);
        self.playout = Some(p);
        self.stats.lost += 1;
        self.stats.concealed += 1;
        let repeat = self.config.concealment == Concealment::RepeatLast && self.last_len > 0;
        let (payload, how) = if repeat {
            (&self.last_payload[..self.last_len], Concealment::RepeatLast)
        } else {
            (&[][..], Concealment::Silence)
        };
        Frame {
            sequence,
            timestamp,
            payload_type: self.last_payload_type,
            payload,
            kind: FrameKind::Concealed(how),
            talkspurt_start: false,
            playout: due,
        }
    }

    /// Concealed as much as allowed: jump to the next packet held, counting the
    /// rest of the hole as lost. It keeps its own playout time.
    fn skip_hole(&mut self, mut p: Playout) {
        let found = (1..self.slots.capacity() as u16)
            .map(|k| p.next_seq.wrapping_add(k))
            .find_map(|seq| self.slots.buffered(seq).copied());
        let Some(m) = found else {
            // Unreachable while `buffered` is right; recover rather than spin.
            self.buffered = 0;
            return;
        };
        self.stats.lost += u64::from(m.seq.wrapping_sub(p.next_seq));
        p.next_seq = m.seq;
        p.next_ts = m.ts;
        p.concealed_run = 0;
        self.playout = Some(p);
    }
}
