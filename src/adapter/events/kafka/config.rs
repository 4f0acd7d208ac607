//! `[kafka]` settings. Owned here rather than in the config adapter so the
//! publisher can be built and tested on its own; the config file embeds it.

use super::super::spool::SpoolOptions;
use rdkafka::ClientConfig;
use std::{collections::BTreeMap, path::PathBuf, time::Duration};

/// Settings of the Kafka publisher and its spool.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KafkaConfig {
    /// Bootstrap servers, `host:port[,host:port…]`. Empty: Kafka is off and the
    /// JSON-lines file publisher is used.
    pub brokers: String,
    /// The topic every call event goes to.
    pub topic: String,
    /// `client.id` shown in the broker's logs and quotas.
    pub client_id: String,
    /// Where events wait for the broker's acknowledgement.
    pub spool_dir: PathBuf,
    /// Unacknowledged bytes the spool may hold before publishing fails (alert).
    pub spool_max_bytes: u64,
    /// Size of one spool segment file.
    pub spool_segment_bytes: u64,
    /// Events between fsyncs of the spool.
    pub fsync_every: usize,
    /// Longest time an accepted event stays un-fsync'd.
    pub fsync_interval_ms: u64,
    /// Events sent and not yet acknowledged; the rest wait on disk.
    pub max_in_flight: usize,
    /// librdkafka `message.timeout.ms`: after it, a send counts as failed and
    /// is retried from the spool.
    pub message_timeout_ms: u64,
    /// Wait before re-sending after a failure.
    pub retry_backoff_ms: u64,
    /// Extra librdkafka properties (TLS, SASL…); they cannot turn off
    /// idempotence or `acks=all`.
    pub properties: BTreeMap<String, String>,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        Self {
            brokers: String::new(),
            topic: "voice.call-events".into(),
            client_id: "voice-gateway".into(),
            spool_dir: PathBuf::from("data/spool/kafka"),
            spool_max_bytes: 1024 * 1024 * 1024,
            spool_segment_bytes: 64 * 1024 * 1024,
            fsync_every: 256,
            fsync_interval_ms: 50,
            max_in_flight: 10_000,
            message_timeout_ms: 30_000,
            retry_backoff_ms: 1_000,
            properties: BTreeMap::new(),
        }
    }
}

impl KafkaConfig {
    /// Whether Kafka is configured (brokers given).
    pub fn enabled(&self) -> bool {
        !self.brokers.trim().is_empty()
    }

    /// The spool's limits.
    pub fn spool_options(&self) -> SpoolOptions {
        SpoolOptions {
            max_bytes: self.spool_max_bytes,
            segment_bytes: self.spool_segment_bytes,
            fsync_every: self.fsync_every,
        }
    }

    pub(crate) fn fsync_interval(&self) -> Duration {
        Duration::from_millis(self.fsync_interval_ms.max(1))
    }

    pub(crate) fn retry_backoff(&self) -> Duration {
        Duration::from_millis(self.retry_backoff_ms)
    }

    /// The producer's librdkafka settings: idempotent, `acks=all`, so a retry
    /// inside librdkafka neither duplicates nor reorders a partition's records.
    pub(crate) fn client_config(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        for (k, v) in &self.properties {
            c.set(k, v);
        }
        c.set("bootstrap.servers", &self.brokers)
            .set("client.id", &self.client_id)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("message.timeout.ms", self.message_timeout_ms.to_string())
            // Room for the whole send window, so `QueueFull` means a bug, not load.
            .set(
                "queue.buffering.max.messages",
                (self.max_in_flight.max(1) * 2).to_string(),
            )
            .set("linger.ms", "5")
            // rdkafka takes the level from the `log` crate, which the gateway
            // does not set up (it uses tracing): without this, librdkafka's
            // warnings (a failed TLS handshake among them) are dropped.
            .set_log_level(rdkafka::config::RDKafkaLogLevel::Warning);
        // librdkafka's OpenSSL is vendored: its built-in default CA path is
        // the build's, not this machine's. `probe` finds the system's bundle.
        let tls = self
            .properties
            .get("security.protocol")
            .is_some_and(|p| p.eq_ignore_ascii_case("ssl") || p.eq_ignore_ascii_case("sasl_ssl"));
        if tls && !self.properties.contains_key("ssl.ca.location") {
            c.set("ssl.ca.location", "probe");
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdkafka::producer::BaseProducer;

    /// librdkafka built without OpenSSL refuses these settings at creation
    /// ("OpenSSL not available at build time"): the gateway did not start.
    #[test]
    fn a_sasl_ssl_producer_can_be_created() {
        let mut c = KafkaConfig {
            brokers: "127.0.0.1:9".into(),
            ..KafkaConfig::default()
        };
        for (k, v) in [
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanisms", "SCRAM-SHA-512"),
            ("sasl.username", "gw"),
            ("sasl.password", "pw"),
        ] {
            c.properties.insert(k.into(), v.into());
        }
        let cc = c.client_config();
        assert_eq!(cc.get("ssl.ca.location"), Some("probe"));
        cc.create::<BaseProducer>().expect("SASL_SSL is supported");
        c.properties
            .insert("sasl.mechanisms".into(), "PLAIN".into());
        c.client_config()
            .create::<BaseProducer>()
            .expect("SASL PLAIN is supported");
    }
}
