//! A per-provider circuit breaker: open after `failures` consecutive
//! failures, half-open (one more try) once `cool_down` has passed.

use std::time::Duration;

use tokio::time::Instant;

/// Breaker thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerConfig {
    /// Consecutive failures that open the breaker.
    pub failures: u32,
    /// How long it stays open before a provider gets another try.
    pub cool_down: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            failures: 3,
            cool_down: Duration::from_secs(30),
        }
    }
}

#[derive(Debug)]
pub(crate) struct Breaker {
    config: BreakerConfig,
    consecutive: u32,
    open_until: Option<Instant>,
}

impl Breaker {
    pub(crate) fn new(config: BreakerConfig) -> Self {
        Self {
            config,
            consecutive: 0,
            open_until: None,
        }
    }

    /// Closed, or open with its cool-down over (half-open).
    pub(crate) fn allows(&self, now: Instant) -> bool {
        self.open_until.is_none_or(|until| now >= until)
    }

    pub(crate) fn success(&mut self) {
        self.consecutive = 0;
        self.open_until = None;
    }

    /// A failure; a failed half-open try re-opens at once.
    pub(crate) fn failure(&mut self, now: Instant) {
        self.consecutive += 1;
        if self.consecutive >= self.config.failures {
            self.open_until = Some(now + self.config.cool_down);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_n_failures_and_half_opens_after_the_cool_down() {
        let config = BreakerConfig {
            failures: 2,
            cool_down: Duration::from_secs(10),
        };
        let mut b = Breaker::new(config);
        let t0 = Instant::now();
        b.failure(t0);
        assert!(b.allows(t0));
        b.failure(t0);
        assert!(!b.allows(t0 + Duration::from_secs(9)));
        assert!(b.allows(t0 + Duration::from_secs(10)));
        b.failure(t0 + Duration::from_secs(10));
        assert!(!b.allows(t0 + Duration::from_secs(11)));
        b.success();
        assert!(b.allows(t0 + Duration::from_secs(11)));
    }
}
