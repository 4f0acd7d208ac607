//! `voicegw_redis_store_*`: operations, errors and writes waiting for Redis.

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge},
    registry::Registry,
};

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OpLabel {
    op: &'static str,
}

/// The store's counters; cheap to clone (shared cells).
#[derive(Debug, Clone, Default)]
pub struct StoreMetrics {
    ops: Family<OpLabel, Counter>,
    errors: Family<OpLabel, Counter>,
    pending: Gauge,
    written_back: Counter,
}

impl StoreMetrics {
    /// Registers the metrics and returns the handles to update them.
    pub fn register(registry: &mut Registry) -> Self {
        let m = Self::default();
        registry.register(
            "redis_store_operations",
            "Redis call store operations tried, by op (put, get, list, writeback, idempotency)",
            m.ops.clone(),
        );
        registry.register(
            "redis_store_errors",
            "Redis call store operations that failed or timed out, by op",
            m.errors.clone(),
        );
        registry.register(
            "redis_store_pending_writebacks",
            "Call records kept in memory while Redis is unreachable, waiting to be written back",
            m.pending.clone(),
        );
        registry.register(
            "redis_store_written_back",
            "Call records written back to Redis after an outage",
            m.written_back.clone(),
        );
        m
    }

    pub(super) fn op(&self, op: &'static str) {
        self.ops.get_or_create(&OpLabel { op }).inc();
    }

    pub(super) fn error(&self, op: &'static str) {
        self.errors.get_or_create(&OpLabel { op }).inc();
    }

    pub(super) fn pending(&self, n: usize) {
        self.pending.set(n as i64);
    }

    pub(super) fn written_back(&self) {
        self.written_back.inc();
    }

    /// Records waiting to be written back (for tests and the readiness detail).
    pub fn pending_writebacks(&self) -> i64 {
        self.pending.get()
    }

    /// Failed operations of one kind so far.
    pub fn errors(&self, op: &'static str) -> u64 {
        self.errors.get_or_create(&OpLabel { op }).get()
    }
}
