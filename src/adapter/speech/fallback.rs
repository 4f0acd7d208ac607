//! Fallback decorators: [`FallbackStt`] and [`FallbackTts`] implement the
//! speech ports over an ordered list of providers and switch to the next one
//! inside the same session when the current one fails to open, errors
//! mid-stream, stalls (TTS: no first audio within `first_byte_timeout`; STT:
//! no result while audio flows for `stt_stall_timeout`) or has its circuit
//! breaker open. The call task sees one uninterrupted session; the switch is
//! reported by the `speech_fallbacks` metric and a warning log, the failure by
//! `speech_errors`. Only when every provider failed does the session end with
//! the last error (then the call task publishes `error.*_failed`).

pub(crate) mod breaker;
mod metrics;
pub mod stt;
pub mod tts;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use breaker::Breaker;
pub use breaker::BreakerConfig;
pub use metrics::SpeechMetrics;
pub use stt::FallbackStt;
pub use tts::FallbackTts;

/// When to give up on a provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FallbackConfig {
    /// TTS: first text sent to a provider → its first audio (5 s by default).
    pub first_byte_timeout: Duration,
    /// STT: audio pushed with no result at all for this long. `None` for
    /// providers that only answer at `finish()` (Wyoming).
    pub stt_stall_timeout: Option<Duration>,
    /// Per-provider circuit breaker.
    pub breaker: BreakerConfig,
}

impl Default for FallbackConfig {
    fn default() -> Self {
        Self {
            first_byte_timeout: Duration::from_secs(5),
            stt_stall_timeout: Some(Duration::from_secs(10)),
            breaker: BreakerConfig::default(),
        }
    }
}

/// A provider's circuit breaker, shareable by every chain the provider is
/// in: a provider that keeps failing for one route's calls is skipped by
/// the others too. Cloning shares it.
#[derive(Debug, Clone)]
pub struct SharedBreaker(Arc<Mutex<Breaker>>);

impl SharedBreaker {
    /// A closed breaker.
    pub fn new(config: BreakerConfig) -> Self {
        Self(Arc::new(Mutex::new(Breaker::new(config))))
    }
}

/// One provider in the list, with its name (for metrics and logs) and breaker.
struct Member<P: ?Sized> {
    name: String,
    provider: Arc<P>,
    breaker: SharedBreaker,
}

/// A provider of a chain: its name, itself and its breaker.
pub type Link<P> = (String, Arc<P>, SharedBreaker);

fn members<P: ?Sized>(list: Vec<Link<P>>) -> Arc<[Member<P>]> {
    list.into_iter()
        .map(|(name, provider, breaker)| Member {
            name,
            provider,
            breaker,
        })
        .collect()
}

/// Links with a breaker of their own each.
fn own_breakers<P: ?Sized>(list: Vec<(String, Arc<P>)>, config: BreakerConfig) -> Vec<Link<P>> {
    list.into_iter()
        .map(|(name, provider)| (name, provider, SharedBreaker::new(config)))
        .collect()
}

impl<P: ?Sized> Member<P> {
    fn allows(&self) -> bool {
        self.breaker
            .0
            .lock()
            .expect("breaker lock")
            .allows(tokio::time::Instant::now())
    }

    fn succeeded(&self) {
        self.breaker.0.lock().expect("breaker lock").success();
    }

    fn failed(&self) {
        self.breaker
            .0
            .lock()
            .expect("breaker lock")
            .failure(tokio::time::Instant::now());
    }
}

#[cfg(test)]
mod tests_stt;
#[cfg(test)]
mod tests_tts;
