//! Folds telephone-event packets into one event per key press.

use super::{DtmfError, TelephoneEvent};
use crate::rtp::ts_diff;

/// One key press, reported once however many packets carried it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DigitEvent {
    /// `0`-`9`, `*`, `#` or `A`-`D`.
    pub digit: char,
    /// RTP timestamp of the event's start (shared by all its packets).
    pub timestamp: u32,
    /// Longest duration seen, in timestamp units.
    pub duration: u16,
    /// The same in milliseconds.
    pub duration_ms: u32,
    /// Volume of the last packet, in -dBm0.
    pub volume: u8,
    /// False when no end packet arrived: the digit was closed by the next
    /// digit or by [`DtmfReceiver::finish`].
    pub end_seen: bool,
}

#[derive(Debug, Clone, Copy)]
struct Current {
    digit: char,
    timestamp: u32,
    duration: u16,
    volume: u8,
}

/// Capacity of the output queue; one packet produces at most two events.
const QUEUE: usize = 4;

/// De-duplicates RFC 4733 packets into [`DigitEvent`]s.
///
/// Drive it with [`handle`](Self::handle) for each telephone-event packet
/// (its RTP timestamp and payload), then drain [`poll_event`](Self::poll_event).
/// A digit is reported on its first end packet; the redundant end packets
/// and late updates that follow (same timestamp) are dropped. If all end
/// packets are lost, the digit is reported when the next digit starts or
/// when the caller, after a quiet spell by its own clock, calls
/// [`finish`](Self::finish). Non-DTMF events (flash, tones) are ignored.
#[derive(Debug, Clone)]
pub struct DtmfReceiver {
    clock_rate: u32,
    current: Option<Current>,
    last_done: Option<u32>,
    queue: [Option<DigitEvent>; QUEUE],
    head: usize,
    len: usize,
    overflowed: u64,
}

impl DtmfReceiver {
    /// A receiver for a stream whose RTP clock runs at `clock_rate` Hz
    /// (8000 for the telephone-event format Asterisk and phones negotiate).
    pub fn new(clock_rate: u32) -> Self {
        DtmfReceiver {
            clock_rate: clock_rate.max(1),
            current: None,
            last_done: None,
            queue: [None; QUEUE],
            head: 0,
            len: 0,
            overflowed: 0,
        }
    }

    /// Takes one telephone-event packet. Malformed payloads are rejected and
    /// change nothing.
    pub fn handle(&mut self, timestamp: u32, payload: &[u8]) -> Result<(), DtmfError> {
        let ev = TelephoneEvent::parse(payload)?;
        let Some(digit) = ev.digit() else {
            return Ok(());
        };
        // Anything at or before the last finished event is a redundant end
        // packet or a reordered leftover.
        if self.last_done.is_some_and(|t| ts_diff(timestamp, t) <= 0) {
            return Ok(());
        }
        match self.current {
            Some(c) if c.timestamp == timestamp => {
                let c = self.current.as_mut().expect("matched Some");
                c.duration = c.duration.max(ev.duration);
                c.volume = ev.volume;
            }
            Some(c) if ts_diff(timestamp, c.timestamp) < 0 => return Ok(()),
            _ => {
                if let Some(prev) = self.current.take() {
                    self.emit(prev, false);
                }
                self.current = Some(Current {
                    digit,
                    timestamp,
                    duration: ev.duration,
                    volume: ev.volume,
                });
            }
        }
        if ev.end
            && let Some(c) = self.current.take()
        {
            self.emit(c, true);
        }
        Ok(())
    }

    /// Closes a digit whose end packets never came; returns it if there was one
    /// in progress (it is not also queued).
    pub fn finish(&mut self) -> Option<DigitEvent> {
        let c = self.current.take()?;
        self.last_done = Some(c.timestamp);
        Some(self.event(c, false))
    }

    /// The next finished digit, oldest first.
    pub fn poll_event(&mut self) -> Option<DigitEvent> {
        if self.len == 0 {
            return None;
        }
        let e = self.queue[self.head].take();
        self.head = (self.head + 1) % QUEUE;
        self.len -= 1;
        e
    }

    /// The digit currently held down, if any.
    pub fn in_progress(&self) -> Option<char> {
        self.current.map(|c| c.digit)
    }

    /// Digits dropped because more than 4 were queued without being polled.
    pub fn overflowed(&self) -> u64 {
        self.overflowed
    }

    fn event(&self, c: Current, end_seen: bool) -> DigitEvent {
        DigitEvent {
            digit: c.digit,
            timestamp: c.timestamp,
            duration: c.duration,
            duration_ms: (u64::from(c.duration) * 1000 / u64::from(self.clock_rate)) as u32,
            volume: c.volume,
            end_seen,
        }
    }

    fn emit(&mut self, c: Current, end_seen: bool) {
        self.last_done = Some(c.timestamp);
        let e = self.event(c, end_seen);
        if self.len == QUEUE {
            // Keep the newest: drop the oldest unpolled digit.
            self.head = (self.head + 1) % QUEUE;
            self.len -= 1;
            self.overflowed += 1;
        }
        self.queue[(self.head + self.len) % QUEUE] = Some(e);
        self.len += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtmf::{DtmfSender, TelephoneEvent};

    fn pkt(event: u8, end: bool, duration: u16) -> [u8; 4] {
        TelephoneEvent {
            event,
            end,
            volume: 10,
            duration,
        }
        .to_bytes()
    }

    #[test]
    fn one_digit_from_start_updates_and_three_ends() {
        let mut r = DtmfReceiver::new(8000);
        for d in [160, 320, 480, 640] {
            r.handle(1000, &pkt(1, false, d)).unwrap();
            assert_eq!(r.poll_event(), None);
        }
        assert_eq!(r.in_progress(), Some('1'));
        for _ in 0..3 {
            r.handle(1000, &pkt(1, true, 800)).unwrap();
        }
        let e = r.poll_event().unwrap();
        assert_eq!(
            e,
            DigitEvent {
                digit: '1',
                timestamp: 1000,
                duration: 800,
                duration_ms: 100,
                volume: 10,
                end_seen: true
            }
        );
        assert_eq!(r.poll_event(), None);
        // A late update of the same digit does not resurrect it.
        r.handle(1000, &pkt(1, false, 640)).unwrap();
        assert_eq!((r.poll_event(), r.in_progress()), (None, None));
    }

    #[test]
    fn same_digit_twice_is_two_events() {
        let mut r = DtmfReceiver::new(8000);
        r.handle(0, &pkt(5, true, 800)).unwrap();
        r.handle(2000, &pkt(5, true, 800)).unwrap();
        assert_eq!(r.poll_event().map(|e| e.timestamp), Some(0));
        assert_eq!(r.poll_event().map(|e| e.timestamp), Some(2000));
    }

    #[test]
    fn lost_end_packets_close_on_next_digit_or_finish() {
        let mut r = DtmfReceiver::new(8000);
        r.handle(0, &pkt(2, false, 320)).unwrap();
        // Next digit arrives and only its end packet survived.
        r.handle(4000, &pkt(3, true, 480)).unwrap();
        let a = r.poll_event().unwrap();
        assert_eq!((a.digit, a.end_seen, a.duration), ('2', false, 320));
        let b = r.poll_event().unwrap();
        assert_eq!((b.digit, b.end_seen, b.duration_ms), ('3', true, 60));
        r.handle(8000, &pkt(11, false, 160)).unwrap();
        let f = r.finish().unwrap();
        assert_eq!((f.digit, f.end_seen), ('#', false));
        assert_eq!(r.finish(), None);
        // Its leftovers are ignored after finish.
        r.handle(8000, &pkt(11, true, 800)).unwrap();
        assert_eq!(r.poll_event(), None);
    }

    #[test]
    fn ignores_non_digits_and_reordered_older_events() {
        let mut r = DtmfReceiver::new(8000);
        r.handle(0, &pkt(16, true, 800)).unwrap(); // flash
        assert_eq!(r.poll_event(), None);
        r.handle(5000, &pkt(7, false, 160)).unwrap();
        r.handle(1000, &pkt(8, false, 160)).unwrap(); // older than current
        assert_eq!(r.in_progress(), Some('7'));
        assert!(r.handle(0, &[1, 2]).is_err());
    }

    #[test]
    fn queue_keeps_the_newest_when_not_polled() {
        let mut r = DtmfReceiver::new(8000);
        for i in 0..6u32 {
            r.handle(i * 1000, &pkt(i as u8, true, 160)).unwrap();
        }
        assert_eq!(r.overflowed(), 2);
        let digits: String = std::iter::from_fn(|| r.poll_event())
            .map(|e| e.digit)
            .collect();
        assert_eq!(digits, "2345");
    }

    #[test]
    fn sender_output_is_received_as_one_digit_even_with_duplicates_and_loss() {
        let s = DtmfSender::new(8000);
        let pkts: Vec<_> = s.packets('9', 120, 10, 77_000).unwrap().collect();
        let mut r = DtmfReceiver::new(8000);
        // Duplicate every packet and drop the second one.
        for (i, p) in pkts.iter().enumerate() {
            if i == 1 {
                continue;
            }
            r.handle(p.timestamp, &p.payload).unwrap();
            r.handle(p.timestamp, &p.payload).unwrap();
        }
        let e = r.poll_event().unwrap();
        assert_eq!(
            (e.digit, e.duration_ms, e.end_seen, e.timestamp),
            ('9', 120, true, 77_000)
        );
        assert_eq!(r.poll_event(), None);
    }
}
