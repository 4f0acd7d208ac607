//! Per-provider speech figures: time to first byte, errors, fallbacks.

use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// `direction` (`stt`/`tts`) and `provider`.
type Labels = [(&'static str, String); 2];

fn first_byte_histogram() -> Histogram {
    // 25 ms … ~12.8 s.
    Histogram::new(exponential_buckets(0.025, 2.0, 10))
}

/// Speech provider metrics. Cloning shares them.
#[derive(Debug, Clone)]
pub struct SpeechMetrics {
    first_byte: Family<Labels, Histogram, fn() -> Histogram>,
    errors: Family<Labels, Counter>,
    fallbacks: Family<Labels, Counter>,
}

impl Default for SpeechMetrics {
    fn default() -> Self {
        Self {
            first_byte: Family::new_with_constructor(first_byte_histogram),
            errors: Family::default(),
            fallbacks: Family::default(),
        }
    }
}

fn labels(direction: &'static str, provider: &str) -> Labels {
    [
        ("direction", direction.to_owned()),
        ("provider", provider.to_owned()),
    ]
}

impl SpeechMetrics {
    /// Metrics registered in `registry` (the gateway's registry adds its prefix).
    pub fn register(registry: &mut Registry) -> Self {
        let m = Self::default();
        registry.register(
            "speech_first_byte_seconds",
            "Time to first audio (TTS) or first result (STT) per provider",
            m.first_byte.clone(),
        );
        registry.register(
            "speech_errors",
            "Speech provider failures",
            m.errors.clone(),
        );
        registry.register(
            "speech_fallbacks",
            "Switches away from a failed speech provider (labelled with the one left)",
            m.fallbacks.clone(),
        );
        m
    }

    pub(super) fn first_byte(&self, direction: &'static str, provider: &str, took: Duration) {
        self.first_byte
            .get_or_create(&labels(direction, provider))
            .observe(took.as_secs_f64());
    }

    pub(super) fn error(&self, direction: &'static str, provider: &str) {
        self.errors
            .get_or_create(&labels(direction, provider))
            .inc();
    }

    pub(super) fn fallback(&self, direction: &'static str, provider: &str) {
        self.fallbacks
            .get_or_create(&labels(direction, provider))
            .inc();
    }

    /// Fallbacks away from `provider` so far (tests, health views).
    pub fn fallbacks(&self, direction: &'static str, provider: &str) -> u64 {
        self.fallbacks
            .get_or_create(&labels(direction, provider))
            .get()
    }

    /// Errors of `provider` so far.
    pub fn errors(&self, direction: &'static str, provider: &str) -> u64 {
        self.errors
            .get_or_create(&labels(direction, provider))
            .get()
    }
}
