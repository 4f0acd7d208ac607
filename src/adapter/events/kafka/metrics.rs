//! Figures of the Kafka publisher and its spool.

use prometheus_client::{
    metrics::{counter::Counter, gauge::Gauge},
    registry::Registry,
};

/// Counters shared by the publisher's task and the metrics endpoint. Cloning shares them.
#[derive(Debug, Clone, Default)]
pub struct KafkaMetrics {
    /// Bytes of events in the spool not yet acknowledged by the broker.
    pub spooled_bytes: Gauge,
    /// Events in the spool (or in the memory backlog while the disk refuses
    /// writes) not yet acknowledged.
    pub spooled_events: Gauge,
    /// Events held in memory because the disk refused them (full, or over a
    /// file-size limit), waiting to be written to the spool.
    pub backlog_events: Gauge,
    /// Events accepted (in the spool, or held in memory while the disk
    /// refuses writes): what the gateway has to deliver.
    pub accepted: Counter,
    /// Events acknowledged by the broker.
    pub sent: Counter,
    /// Send failures; each rewinds the spool and re-sends from the first unacknowledged event.
    pub delivery_errors: Counter,
    /// Events refused because the spool was full: the alert.
    pub spool_full: Counter,
    /// Spooled records found corrupt and skipped (a disk fault): each is an
    /// event lost, counted instead of stopping delivery.
    pub spool_corrupt: Counter,
}

impl KafkaMetrics {
    /// Metrics registered in `registry` (unprefixed; the gateway's registry adds `voicegw_`).
    pub fn register(registry: &mut Registry) -> Self {
        let m = Self::default();
        registry.register(
            "kafka_spooled_bytes",
            "Bytes of call events spooled on disk, not yet acknowledged by Kafka",
            m.spooled_bytes.clone(),
        );
        registry.register(
            "kafka_spooled_events",
            "Call events spooled on disk (or held in memory while the disk refuses them), not yet acknowledged by Kafka",
            m.spooled_events.clone(),
        );
        registry.register(
            "kafka_spool_backlog_events",
            "Call events held in memory because the disk refused them, waiting for the spool",
            m.backlog_events.clone(),
        );
        registry.register(
            "kafka_events_accepted",
            "Call events accepted for delivery (spooled, or held in memory while the disk refuses them)",
            m.accepted.clone(),
        );
        registry.register(
            "kafka_events_sent",
            "Call events acknowledged by Kafka",
            m.sent.clone(),
        );
        registry.register(
            "kafka_delivery_errors",
            "Failed sends of call events to Kafka (retried from the spool)",
            m.delivery_errors.clone(),
        );
        registry.register(
            "kafka_spool_full",
            "Call events refused because the spool was full (alert)",
            m.spool_full.clone(),
        );
        registry.register(
            "spool_corrupt",
            "Spooled call events found corrupt on disk and skipped (each one is lost)",
            m.spool_corrupt.clone(),
        );
        m
    }
}
