//! Settings of the ARI REST client.

use std::time::Duration;

/// Where and how to reach one Asterisk's ARI.
#[derive(Clone)]
pub struct AriClientConfig {
    /// ARI base URL including `/ari`, e.g. `http://127.0.0.1:8088/ari`.
    pub base_url: String,
    /// ARI user (`ari.conf`).
    pub username: String,
    /// ARI password; never printed by `Debug`.
    pub password: String,
    /// The Stasis app every originated or externalMedia channel is sent to.
    pub app: String,
    /// Upper bound for one HTTP exchange (connect + request + response).
    pub request_timeout: Duration,
}

impl std::fmt::Debug for AriClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AriClientConfig")
            .field("base_url", &self.base_url)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("app", &self.app)
            .field("request_timeout", &self.request_timeout)
            .finish()
    }
}

/// How reads (GET) are retried; writes are never retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, the first included (1 = no retry).
    pub max_attempts: u32,
    /// Wait before the first retry; doubled for each further one.
    pub initial_backoff: Duration,
    /// Upper bound of one wait.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1` (attempt counts from 1).
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_password() {
        let c = AriClientConfig {
            base_url: "http://h/ari".into(),
            username: "gw".into(),
            password: "gwsecret".into(),
            app: "vg".into(),
            request_timeout: Duration::from_secs(2),
        };
        let printed = format!("{c:?}");
        assert!(!printed.contains("gwsecret"), "{printed}");
        assert!(printed.contains("gw"));
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff(1), Duration::from_millis(100));
        assert_eq!(p.backoff(2), Duration::from_millis(200));
        assert_eq!(p.backoff(5), Duration::from_secs(1));
        assert_eq!(p.backoff(200), Duration::from_secs(1));
    }
}
