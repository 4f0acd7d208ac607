//! Reconnect delays: exponential with full jitter, never zero, capped.
//!
//! Full jitter (a uniform draw in `[min, cap]`) spreads many gateways that lost
//! the same Asterisk at the same moment, so they do not reconnect in lockstep.

use std::time::Duration;

/// Exponential backoff with full jitter. Pure: randomness comes from a small
/// internal xorshift generator seeded by the caller.
#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    attempt: u32,
    rng: u64,
}

impl Backoff {
    /// `min` is the smallest delay (must be non-zero: never a tight loop),
    /// `max` the largest.
    pub fn new(min: Duration, max: Duration, seed: u64) -> Self {
        let min = min.max(Duration::from_millis(1));
        Self {
            min,
            max: max.max(min),
            attempt: 0,
            rng: splitmix64(seed) | 1,
        }
    }

    /// The delay before the next attempt; each call doubles the ceiling.
    pub fn next_delay(&mut self) -> Duration {
        let ceiling = self
            .min
            .saturating_mul(1u32 << self.attempt.min(20))
            .min(self.max);
        self.attempt = self.attempt.saturating_add(1);
        let span = ceiling.saturating_sub(self.min).as_nanos() as u64;
        let jitter = if span == 0 {
            0
        } else {
            self.next_u64() % (span + 1)
        };
        self.min + Duration::from_nanos(jitter)
    }

    /// Back to the smallest delay, after a connection proved stable.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    /// Attempts since the last reset.
    pub fn attempts(&self) -> u32 {
        self.attempt
    }

    fn next_u64(&mut self) -> u64 {
        // xorshift64*: plenty for jitter, no dependency.
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// Spreads nearby seeds (process ids, say) over the whole state space.
fn splitmix64(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_within_bounds_and_never_reaches_zero() {
        let (min, max) = (Duration::from_millis(100), Duration::from_secs(10));
        let mut b = Backoff::new(min, max, 42);
        let mut ceiling = min;
        for _ in 0..40 {
            let d = b.next_delay();
            assert!(
                d >= min && d <= ceiling,
                "{d:?} outside [{min:?}, {ceiling:?}]"
            );
            ceiling = (ceiling * 2).min(max);
        }
        // After many failures the draws use the whole range up to the cap.
        let late: Vec<_> = (0..50).map(|_| b.next_delay()).collect();
        assert!(late.iter().any(|d| *d > Duration::from_secs(5)));
        assert!(late.iter().all(|d| *d <= max));
    }

    #[test]
    fn reset_returns_to_the_minimum_and_zero_min_is_raised() {
        let mut b = Backoff::new(Duration::ZERO, Duration::from_secs(1), 7);
        for _ in 0..10 {
            b.next_delay();
        }
        b.reset();
        assert_eq!(b.attempts(), 0);
        assert_eq!(
            b.next_delay(),
            Duration::from_millis(1),
            "first delay after reset is the minimum"
        );
    }

    #[test]
    fn different_seeds_spread() {
        let draws: std::collections::HashSet<_> = (1..20)
            .map(|seed| {
                let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(10), seed);
                (0..5).map(|_| b.next_delay()).last().unwrap()
            })
            .collect();
        assert!(draws.len() > 10, "jitter spreads gateways apart: {draws:?}");
    }
}
