//! Settings of the orchestrator adapters. The lead's configuration loader maps
//! the `[orchestrator]` table onto this struct.

use std::time::Duration;

use crate::adapter::config::Secret;

/// How to reach the agent orchestrator, or how the built-in agent behaves
/// when none is configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrchestratorConfig {
    /// Base URL (`https://orchestrator.example/`); `None` selects the built-in agent.
    pub url: Option<String>,
    /// Bearer token sent with every request, if the orchestrator wants one.
    pub token: Option<Secret>,
    /// From sending a turn to its first reply part (and for the whole of
    /// the other requests). DESIGN: past 10 s the caller hears a fallback.
    pub reply_timeout: Duration,
    /// TCP (and TLS) connect bound, inside the reply timeout.
    pub connect_timeout: Duration,
    /// Longest silence between two chunks once a reply has started.
    pub idle_timeout: Duration,
    /// Pause before the one retry of a request that failed to connect or got 503.
    pub retry_backoff: Duration,
    /// Bound on a reply's text, in bytes; lines and bodies are bounded from it.
    pub max_reply_bytes: usize,
    /// Built-in agent: what it says first (`None`: its stock greeting).
    pub greeting: Option<String>,
    /// Built-in agent: where it transfers callers who ask for a person.
    pub transfer_target: String,
    /// When requests stop being sent after failures, and for how long.
    pub breaker: crate::adapter::speech::fallback::BreakerConfig,
}

impl Default for OrchestratorConfig {
    fn default() -> Self {
        Self {
            url: None,
            token: None,
            reply_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(2),
            idle_timeout: Duration::from_secs(5),
            retry_backoff: Duration::from_millis(100),
            max_reply_bytes: 64 * 1024,
            greeting: None,
            transfer_target: "agents".to_owned(),
            breaker: crate::adapter::speech::fallback::BreakerConfig {
                failures: 5,
                cool_down: Duration::from_secs(30),
            },
        }
    }
}
