//! Call records survive a PostgreSQL outage: each ended call's record waits
//! in a bounded queue and is written, in order, as soon as the database
//! answers again.
//!
//! `record` returns once the record is queued, so a call's end never waits
//! on the database. One task writes; a connection failure (or a server
//! shutting down, out of resources, a serialisation conflict) keeps the
//! record at the head and retries with a doubling pause up to
//! `postgres.max_backoff`; a record the server refuses for what it is
//! (bad data: it would fail again forever) is logged and dropped, counted.
//! The queue is in memory: a crash loses what it holds (at most
//! [`QUEUE_RECORDS`]), a drain gives it until the drain deadline.

use super::{PgError, PgHistory};
use crate::{
    application::ports::{
        history::{CallHistory, CallRecord, HistoryError},
        orchestrator::BoxFuture,
    },
    domain::CallId,
};
use prometheus_client::{
    metrics::{counter::Counter, gauge::Gauge},
    registry::Registry,
};
use std::time::Duration;
use tokio::sync::mpsc;

/// Records held while the database is away: about 3 KiB each.
pub const QUEUE_RECORDS: usize = 10_000;
const FIRST_RETRY: Duration = Duration::from_millis(100);

/// Figures of the queue (`voicegw_history_*` on `/metrics`).
#[derive(Debug, Clone, Default)]
pub struct QueueStats {
    /// Records waiting to be written.
    pub queued: Gauge,
    /// Records written.
    pub written: Counter,
    /// Records dropped: refused by the server, or the queue was full.
    pub dropped: Counter,
}

impl QueueStats {
    /// Figures registered in `registry` (the gateway's adds `voicegw_`).
    pub fn register(registry: &mut Registry) -> Self {
        let s = Self::default();
        registry.register(
            "history_queued",
            "Call records waiting for PostgreSQL",
            s.queued.clone(),
        );
        registry.register(
            "history_written",
            "Call records written to PostgreSQL",
            s.written.clone(),
        );
        registry.register(
            "history_dropped",
            "Call records lost: refused by PostgreSQL or the queue was full",
            s.dropped.clone(),
        );
        s
    }
}

/// [`PgHistory`] behind a queue and a retrying writer task.
#[derive(Debug, Clone)]
pub struct QueuedHistory {
    tx: mpsc::Sender<CallRecord>,
    stats: QueueStats,
    /// Reads go straight to the database: a record still queued is not
    /// found until it is written.
    reader: PgHistory,
}

impl QueuedHistory {
    /// Starts the writer task (on the current runtime).
    pub fn spawn(history: PgHistory, max_backoff: Duration, stats: QueueStats) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE_RECORDS);
        let reader = history.clone();
        tokio::spawn(write_all(history, rx, stats.clone(), max_backoff));
        Self { tx, stats, reader }
    }
}

impl CallHistory for QueuedHistory {
    fn record(&self, record: CallRecord) -> BoxFuture<'_, Result<(), HistoryError>> {
        let queued = self.tx.try_send(record);
        Box::pin(async move {
            match queued {
                Ok(()) => {
                    self.stats.queued.inc();
                    Ok(())
                }
                Err(e) => {
                    self.stats.dropped.inc();
                    let call_id = match &e {
                        mpsc::error::TrySendError::Full(r)
                        | mpsc::error::TrySendError::Closed(r) => r.call_id.clone(),
                    };
                    tracing::error!(%call_id, "call record dropped: the history queue is full");
                    Err(HistoryError::Unavailable(
                        crate::application::ports::Cause::msg(format!(
                            "history queue full ({QUEUE_RECORDS} records waiting for postgres)"
                        )),
                    ))
                }
            }
        })
    }

    fn find<'a>(
        &'a self,
        id: &'a CallId,
    ) -> BoxFuture<'a, Result<Option<CallRecord>, HistoryError>> {
        Box::pin(self.reader.select(id))
    }
}

async fn write_all(
    history: PgHistory,
    mut rx: mpsc::Receiver<CallRecord>,
    stats: QueueStats,
    max_backoff: Duration,
) {
    while let Some(record) = rx.recv().await {
        let mut pause = FIRST_RETRY;
        let mut failures = 0u32;
        loop {
            match history.insert(record.clone()).await {
                Ok(()) => {
                    stats.written.inc();
                    if failures > 0 {
                        tracing::info!(call_id = %record.call_id, failures, "call record written after postgres returned");
                    }
                    break;
                }
                Err(e) if retryable(&e) => {
                    if failures == 0 {
                        tracing::warn!(call_id = %record.call_id, error = %e,
                            "call record waits for postgres (retrying)");
                    }
                    failures += 1;
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(max_backoff.max(FIRST_RETRY));
                }
                Err(e) => {
                    stats.dropped.inc();
                    tracing::error!(call_id = %record.call_id, error = %e,
                        "call record refused by postgres: dropped");
                    break;
                }
            }
        }
        stats.queued.dec();
    }
}

/// Whether writing again later can succeed: no connection, or a server-side
/// state that passes (SQLSTATE classes 08 connection, 40 rollback, 53
/// resources, 57 operator intervention, 58 system error).
fn retryable(e: &PgError) -> bool {
    match e {
        PgError::Db(e) => e
            .as_db_error()
            .is_none_or(|db| matches!(&db.code().code()[..2], "08" | "40" | "53" | "57" | "58")),
        PgError::Pool(_) => true,
        _ => false,
    }
}
