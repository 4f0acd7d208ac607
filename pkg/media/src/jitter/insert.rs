//! The way in: where an arriving packet goes.

use std::time::Instant;

use super::slots::{SlotMeta, SlotState};
use super::{FRAME, Insert, JitterBuffer, MAX_DROPOUT, MAX_MISORDER, Playout, Release};
use crate::rtp::{RtpHeader, seq_diff};

impl JitterBuffer {
    /// Takes one packet that arrived at `now`; the payload is copied.
    pub fn insert(&mut self, now: Instant, header: &RtpHeader, payload: &[u8]) -> Insert {
        if payload.len() > self.slots.slot_size() {
            self.stats.oversized += 1;
            return Insert::TooLarge;
        }
        if self.ssrc != Some(header.ssrc) {
            if let Some((old, since)) = self.previous_ssrc
                && old == header.ssrc
                && now.saturating_duration_since(since) <= self.config.max_delay
            {
                // Reordered across the change: late for a stream we left.
                self.stats.late += 1;
                return Insert::Late;
            }
            if let Some(old) = self.ssrc {
                self.stats.ssrc_changes += 1;
                self.previous_ssrc = Some((old, now));
                self.reset();
            }
            self.ssrc = Some(header.ssrc);
        }
        let Some(p) = self.playout else {
            return self.start_talkspurt(now, header, payload);
        };
        let d = seq_diff(header.sequence, p.next_seq);
        if d < 0 {
            return self.insert_behind(now, p, header, payload, d.unsigned_abs());
        }
        let ahead = d as u16;
        if ahead > MAX_DROPOUT {
            self.stats.restarts += 1;
            self.reset();
            return self.start_talkspurt(now, header, payload);
        }
        if self.buffered == 0 {
            // The buffer ran dry: either a silence (Asterisk sent nothing) or a
            // stall longer than the delay. Either way output has stopped, and
            // this packet starts a new talkspurt rather than being late.
            // Released in order, frames leave at once: an empty buffer is the
            // steady state then, and only a packet past its place starts anew.
            let drained = self.config.release == Release::OnTime
                && p.last_emit.is_none_or(|e| e + FRAME <= now);
            let too_late = p.at(header.timestamp, self.config.clock_rate) < now;
            if drained || too_late || header.marker || usize::from(ahead) >= self.slots.capacity() {
                self.stats.lost += u64::from(ahead);
                let gap_from = p.next_seq;
                let inserted = self.start_talkspurt(now, header, payload);
                if let Some(p) = self.playout.as_mut() {
                    (p.gap_from, p.gap_len) = (gap_from, ahead);
                }
                return inserted;
            }
        } else if usize::from(ahead) >= self.slots.capacity() {
            // Too far ahead to fit while older packets wait: give those up
            // rather than grow; only a burst loss longer than the ring gets here.
            self.stats.overflow += self.buffered as u64;
            self.stats.lost += u64::from(ahead) - self.buffered as u64;
            self.slots.clear();
            self.buffered = 0;
            return self.start_talkspurt(now, header, payload);
        }
        if self.slots.buffered(header.sequence).is_some() {
            self.stats.duplicate += 1;
            return Insert::Duplicate;
        }
        if seq_diff(header.sequence, self.highest) < 0 {
            self.stats.reordered += 1;
        } else {
            self.highest = header.sequence;
        }
        self.store(now, header, payload);
        Insert::Buffered
    }

    /// A packet older than the playout point.
    fn insert_behind(
        &mut self,
        now: Instant,
        mut p: Playout,
        header: &RtpHeader,
        payload: &[u8],
        back: u16,
    ) -> Insert {
        if back > MAX_MISORDER {
            self.stats.restarts += 1;
            self.reset();
            return self.start_talkspurt(now, header, payload);
        }
        let due = p.at(header.timestamp, self.config.clock_rate);
        let fits = usize::from(self.highest.wrapping_sub(header.sequence)) < self.slots.capacity();
        // Never behind what already came out, even as concealment.
        let after_last = p.last_emit.is_none_or(|e| due >= e + FRAME)
            && p.last_seq.is_none_or(|l| seq_diff(header.sequence, l) > 0);
        if !p.started && due >= now && fits && after_last {
            // Reordered at the very start of a talkspurt, before anything played:
            // move the playout point back to it instead of calling it late.
            p.next_seq = header.sequence;
            p.next_ts = header.timestamp;
            self.playout = Some(p);
            self.stats.reordered += 1;
            self.store(now, header, payload);
            return Insert::Buffered;
        }
        let slot = self.slots.meta(header.sequence);
        if slot.seq == header.sequence && slot.state != SlotState::Empty {
            self.stats.duplicate += 1;
            return Insert::Duplicate;
        }
        self.stats.late += 1;
        // A late packet is direct evidence the delay is too short: grow it now
        // (up to the cap) rather than wait for the next talkspurt.
        let grow = now
            .saturating_duration_since(due)
            .min(self.config.max_delay.saturating_sub(p.delay));
        p.anchor_at += grow;
        p.delay += grow;
        self.playout = Some(p);
        Insert::Late
    }

    fn start_talkspurt(&mut self, now: Instant, header: &RtpHeader, payload: &[u8]) -> Insert {
        let delay = self.target();
        let not_before = self.playout.and_then(|p| p.last_emit).map(|e| e + FRAME);
        let anchor_at = not_before.map_or(now + delay, |nb| nb.max(now + delay));
        self.playout = Some(Playout {
            anchor_at,
            anchor_ts: header.timestamp,
            delay,
            next_seq: header.sequence,
            next_ts: header.timestamp,
            started: false,
            concealed_run: 0,
            last_emit: self.playout.and_then(|p| p.last_emit),
            last_seq: self.playout.and_then(|p| p.last_seq),
            gap_from: header.sequence,
            gap_len: 0,
        });
        self.highest = header.sequence;
        self.stats.talkspurts += 1;
        // The gap before this packet was silence, not jitter.
        self.estimator.restart();
        self.store(now, header, payload);
        Insert::Buffered
    }

    fn store(&mut self, now: Instant, header: &RtpHeader, payload: &[u8]) {
        let meta = SlotMeta {
            state: SlotState::Buffered,
            seq: header.sequence,
            ts: header.timestamp,
            len: 0,
            marker: header.marker,
            payload_type: header.payload_type,
            arrival: Some(now),
        };
        self.slots.store(meta, payload);
        if let Some(p) = self.playout
            && header.sequence.wrapping_sub(p.gap_from) < p.gap_len
        {
            // Counted lost when the talkspurt started; it was only reordered.
            self.stats.lost -= 1;
        }
        if header.marker {
            // A new talkspurt: its timestamp jump says nothing about the network.
            self.estimator.restart();
        }
        self.estimator.update(
            now,
            header.sequence,
            header.timestamp,
            self.config.clock_rate,
        );
        self.buffered += 1;
        self.stats.received += 1;
    }
}
