//! One key press, two reports: ARI's `ChannelDtmfReceived` and the media
//! path's own (AudioSocket `0x03`, the media WebSocket's `DTMF_END`). Either
//! may come first, either may be lost (ARI events are dropped while its
//! WebSocket reconnects, ari-fixtures/10), and a caller may press the same
//! key twice. The merge takes the first report of each press and drops the
//! other source's echo of it.
//!
//! Whichever source reported a digit first leads; its digits wait in a short
//! queue for the other source's echo, in order. A report from the lagging
//! source that matches the head of the queue is the echo; anything else is a
//! press the leading source missed, and becomes new. Entries older than
//! [`ECHO_WINDOW`] are forgotten: the other source lost them.

use std::time::Instant;
use std::{collections::VecDeque, time::Duration};

/// How long a digit waits for the other source's report of it. Both report
/// the end of the same key press, a few milliseconds apart.
pub const ECHO_WINDOW: Duration = Duration::from_millis(1500);
/// Digits kept for an echo at most (a caller does not press more in the window).
const MAX_PENDING: usize = 32;

/// Where a digit was heard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DtmfSource {
    /// ARI `ChannelDtmfReceived`.
    Ari,
    /// The media leg.
    Media,
}

/// See the [module docs](self).
#[derive(Debug, Default)]
pub struct DtmfMerge {
    leader: Option<DtmfSource>,
    pending: VecDeque<(char, Instant)>,
}

impl DtmfMerge {
    /// Whether `digit` from `source` at `now` is a new key press (else it is
    /// the echo of one already taken).
    pub fn accept(&mut self, source: DtmfSource, digit: char, now: Instant) -> bool {
        while self
            .pending
            .front()
            .is_some_and(|(_, at)| now.duration_since(*at) > ECHO_WINDOW)
        {
            self.pending.pop_front();
        }
        if self.pending.is_empty() {
            self.leader = None;
        }
        if self.leader.is_some_and(|l| l != source) {
            if self.pending.front().is_some_and(|(d, _)| *d == digit) {
                self.pending.pop_front();
                return false;
            }
            // A press the leader missed: the order is lost, start over.
            self.pending.clear();
        }
        self.leader = Some(source);
        if self.pending.len() == MAX_PENDING {
            self.pending.pop_front();
        }
        self.pending.push_back((digit, now));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::{DtmfSource::*, *};

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn each_press_is_taken_once_whichever_source_is_first() {
        let t = Instant::now();
        let mut m = DtmfMerge::default();
        let got: Vec<bool> = [
            (Ari, '1', 0),
            (Media, '1', 2),
            (Media, '2', 100),
            (Ari, '2', 101),
            (Ari, '#', 200),
            (Media, '#', 203),
        ]
        .iter()
        .map(|&(s, d, at)| m.accept(s, d, t + ms(at)))
        .collect();
        assert_eq!(got, [true, false, true, false, true, false]);
    }

    #[test]
    fn a_key_pressed_twice_counts_twice() {
        let t = Instant::now();
        let mut m = DtmfMerge::default();
        assert!(m.accept(Ari, '1', t));
        assert!(m.accept(Ari, '1', t + ms(150)));
        assert!(!m.accept(Media, '1', t + ms(151)));
        assert!(!m.accept(Media, '1', t + ms(152)));
        assert!(m.accept(Media, '1', t + ms(400)));
    }

    #[test]
    fn a_press_one_source_lost_is_still_taken_from_the_other() {
        let t = Instant::now();
        let mut m = DtmfMerge::default();
        // ARI was reconnecting: only the media path heard 5 and 6.
        assert!(m.accept(Media, '5', t));
        assert!(m.accept(Media, '6', t + ms(100)));
        // Much later ARI is back; its report is a new press.
        assert!(m.accept(Ari, '7', t + ms(5000)));
        assert!(!m.accept(Media, '7', t + ms(5001)));
        // A mismatch: ARI missed 8, so media's 8 is new.
        assert!(m.accept(Ari, '9', t + ms(6000)));
        assert!(m.accept(Media, '8', t + ms(6001)));
    }
}
