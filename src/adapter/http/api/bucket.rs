//! A token bucket: `burst` originates at once, refilled at `per_minute`.
//! Time comes in as a parameter so tests step it.

use std::time::{Duration, SystemTime};

/// One tenant's originate allowance.
#[derive(Debug, Clone)]
pub(crate) struct TokenBucket {
    tokens: f64,
    capacity: f64,
    per_sec: f64,
    updated: SystemTime,
}

impl TokenBucket {
    /// A full bucket.
    pub(crate) fn new(per_minute: u32, burst: u32, now: SystemTime) -> Self {
        let capacity = f64::from(burst.max(1));
        Self {
            tokens: capacity,
            capacity,
            per_sec: f64::from(per_minute) / 60.0,
            updated: now,
        }
    }

    /// Takes one token, or says how long until one is there.
    pub(crate) fn take(&mut self, now: SystemTime) -> Result<(), Duration> {
        // A clock stepping backwards refills nothing rather than panicking.
        let dt = now.duration_since(self.updated).unwrap_or(Duration::ZERO);
        self.updated = self.updated.max(now);
        self.tokens = (self.tokens + dt.as_secs_f64() * self.per_sec).min(self.capacity);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Ok(());
        }
        if self.per_sec <= 0.0 {
            return Err(Duration::from_secs(60));
        }
        Err(Duration::from_secs_f64((1.0 - self.tokens) / self.per_sec))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refill_at_the_rate() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let mut b = TokenBucket::new(6, 2, t0); // one token per 10 s
        assert!(b.take(t0).is_ok());
        assert!(b.take(t0).is_ok());
        let wait = b.take(t0).unwrap_err();
        assert_eq!(wait.as_secs_f64().ceil() as u64, 10);
        assert!(b.take(t0 + Duration::from_secs(9)).is_err());
        assert!(b.take(t0 + Duration::from_secs(10)).is_ok());
        // Idle for an hour: never more than the burst.
        let later = t0 + Duration::from_secs(3_600);
        assert!(b.take(later).is_ok() && b.take(later).is_ok());
        assert!(b.take(later).is_err());
    }
}
