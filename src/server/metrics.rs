//! Call counts by outcome.

use crate::application::{router::Outcome, session::reason_label};
use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family},
    registry::Registry,
};

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: String,
}

/// `voicegw_calls_{started,refused,ended{reason}}_total`.
#[derive(Debug, Clone, Default)]
pub(super) struct CallMetrics {
    started: Counter,
    refused: Counter,
    ended: Family<ReasonLabel, Counter>,
}

impl CallMetrics {
    pub(super) fn register(registry: &mut Registry) -> Self {
        let m = Self::default();
        registry.register("calls_started", "Calls taken on", m.started.clone());
        registry.register(
            "calls_refused",
            "Calls refused (draining, bad DID argument)",
            m.refused.clone(),
        );
        registry.register("calls_ended", "Calls ended, by reason", m.ended.clone());
        m
    }

    pub(super) fn record(&self, outcome: &Outcome) {
        match outcome {
            Outcome::Started { channel } => {
                self.started.inc();
                tracing::info!(%channel, "call started");
            }
            Outcome::Refused { channel, reason } => {
                self.refused.inc();
                tracing::warn!(%channel, %reason, "call refused");
            }
            Outcome::Ended { channel, reason } => {
                self.ended
                    .get_or_create(&ReasonLabel {
                        reason: reason_label(reason),
                    })
                    .inc();
                tracing::info!(%channel, %reason, "call ended");
            }
        }
    }
}
