//! RFC 3550 §6.4.1 interarrival jitter, kept within talkspurts.

use std::time::{Duration, Instant};

use crate::rtp::ts_diff;

/// Interarrival jitter estimate `J += (|D| - J) / 16`, in nanoseconds and in the
/// RFC's fixed-point form (scaled by 16) so no floats are needed.
///
/// Only consecutive sequence numbers within one talkspurt feed it: the arrival
/// gap across a silence (Asterisk sends nothing then) is not network jitter.
#[derive(Debug, Clone, Default)]
pub(crate) struct JitterEstimator {
    prev: Option<(Instant, u32, u16)>,
    scaled_ns: u64,
}

impl JitterEstimator {
    pub(crate) fn update(&mut self, now: Instant, seq: u16, ts: u32, clock_rate: u32) {
        if let Some((prev_at, prev_ts, prev_seq)) = self.prev
            && seq == prev_seq.wrapping_add(1)
            && now >= prev_at
        {
            let arrival_ns = (now - prev_at).as_nanos() as i128;
            let media_ns =
                i128::from(ts_diff(ts, prev_ts)) * 1_000_000_000 / i128::from(clock_rate);
            // A single step above one second is a stream discontinuity, not jitter.
            let d = (arrival_ns - media_ns).unsigned_abs().min(1_000_000_000) as u64;
            self.scaled_ns = self.scaled_ns + d - ((self.scaled_ns + 8) >> 4);
        }
        if self
            .prev
            .is_none_or(|(_, _, p)| crate::rtp::seq_diff(seq, p) > 0)
        {
            self.prev = Some((now, ts, seq));
        }
    }

    /// Forget the previous arrival (new talkspurt) but keep the estimate.
    pub(crate) fn restart(&mut self) {
        self.prev = None;
    }

    pub(crate) fn jitter(&self) -> Duration {
        Duration::from_nanos(self.scaled_ns >> 4)
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::JitterEstimator;

    #[test]
    fn steady_stream_has_no_jitter_and_alternating_one_converges() {
        let t0 = Instant::now();
        let mut e = JitterEstimator::default();
        for i in 0..100u16 {
            e.update(
                t0 + Duration::from_millis(20 * u64::from(i)),
                i,
                160 * u32::from(i),
                8000,
            );
        }
        assert_eq!(e.jitter(), Duration::ZERO);
        // Arrivals alternate 15 / 25 ms apart: |D| = 5 ms every packet.
        let mut at = t0;
        for i in 100..400u16 {
            at += Duration::from_millis(if i % 2 == 0 { 15 } else { 25 });
            e.update(at, i, 160 * u32::from(i), 8000);
        }
        let j = e.jitter().as_secs_f64() * 1000.0;
        assert!((4.5..=5.0).contains(&j), "jitter {j} ms");
    }

    #[test]
    fn silence_gap_after_restart_is_not_jitter() {
        let t0 = Instant::now();
        let mut e = JitterEstimator::default();
        e.update(t0, 1, 160, 8000);
        e.restart();
        e.update(t0 + Duration::from_secs(3), 2, 320, 8000);
        assert_eq!(e.jitter(), Duration::ZERO);
    }
}
