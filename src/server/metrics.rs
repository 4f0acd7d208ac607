//! Call counts by outcome.

use crate::application::{router::Outcome, session::reason_label};
use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{
        counter::Counter,
        family::Family,
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResumeLabel {
    reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StageLabel {
    stage: &'static str,
}

fn latency_buckets() -> Histogram {
    // 5 ms .. ~20 s: covers a fast local turn and a timed-out agent.
    Histogram::new(exponential_buckets(0.005, 2.0, 13))
}

/// `voicegw_calls_{started,refused,ended{reason}}_total`.
#[derive(Debug, Clone)]
pub(super) struct CallMetrics {
    started: Counter,
    refused: Counter,
    ended: Family<ReasonLabel, Counter>,
    turn_latency: Family<StageLabel, Histogram, fn() -> Histogram>,
    barge_in: Histogram,
    resumed: Family<ResumeLabel, Counter>,
}

impl Default for CallMetrics {
    fn default() -> Self {
        Self {
            started: Counter::default(),
            refused: Counter::default(),
            ended: Family::default(),
            turn_latency: Family::new_with_constructor(latency_buckets),
            barge_in: latency_buckets(),
            resumed: Family::default(),
        }
    }
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
        registry.register(
            "turn_latency_seconds",
            "Per-turn latency by stage: stt (end of speech → final), agent (request → first text), \
             tts (first text → first audio), media (first audio → handed to the pacer), total (end of \
             speech → first agent audio out)",
            m.turn_latency.clone(),
        );
        registry.register(
            "bargein_delay_seconds",
            "Caller speech onset → last agent packet sent, per barge-in",
            m.barge_in.clone(),
        );
        registry.register(
            "bargein_resumed",
            "False barge-ins avoided: caller sound over the agent that paused it and resumed it \
             (noise, backchannel), or that was our own echo and paused nothing; counted as calls end",
            m.resumed.clone(),
        );
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
            Outcome::Ended {
                channel,
                reason,
                latencies,
                barge_in_delays_ms,
                barge_ins_resumed,
            } => {
                for (reason, n) in ["noise", "backchannel", "echo"]
                    .into_iter()
                    .zip(barge_ins_resumed)
                {
                    self.resumed
                        .get_or_create(&ResumeLabel { reason })
                        .inc_by(u64::from(*n));
                }
                self.ended
                    .get_or_create(&ReasonLabel {
                        reason: reason_label(reason),
                    })
                    .inc();
                for l in latencies {
                    for (stage, v) in [
                        ("stt", l.stt_ms),
                        ("agent", l.agent_ms),
                        ("tts", l.tts_ms),
                        ("media", l.media_ms),
                        ("total", l.total_ms),
                    ] {
                        if let Some(ms) = v {
                            self.turn_latency
                                .get_or_create(&StageLabel { stage })
                                .observe(ms / 1000.0);
                        }
                    }
                }
                for ms in barge_in_delays_ms {
                    self.barge_in.observe(ms / 1000.0);
                }
                tracing::info!(%channel, %reason, "call ended");
            }
        }
    }
}
