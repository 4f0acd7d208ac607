//! Versions for writes: microseconds since the epoch, bumped so each one this
//! process hands out is higher than the last. Taken when `put` is called, not
//! when the write reaches Redis, so the order of calls is the order that wins
//! however the network reorders them; across instances, wall-clock order.

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::SystemTime,
};

/// A monotonic version source.
#[derive(Debug, Default)]
pub(super) struct VersionClock {
    last: AtomicU64,
}

impl VersionClock {
    /// The next version: `max(now in µs, last + 1)`.
    pub(super) fn next(&self, now: SystemTime) -> u64 {
        let micros = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_micros() as u64;
        let mut last = self.last.load(Ordering::Relaxed);
        loop {
            let v = micros.max(last + 1);
            match self
                .last
                .compare_exchange_weak(last, v, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => return v,
                Err(seen) => last = seen,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn versions_rise_even_when_the_clock_goes_back() {
        let c = VersionClock::default();
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let a = c.next(t);
        let b = c.next(t - Duration::from_secs(10));
        let d = c.next(t + Duration::from_secs(1));
        assert!(a < b && b < d, "{a} {b} {d}");
        assert_eq!(d, 1_800_000_001_000_000);
    }
}
