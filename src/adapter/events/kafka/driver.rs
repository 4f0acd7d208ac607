//! The task that owns the spool and the producer.
//!
//! Each turn: top up the send window from the spool, then wait for a command,
//! an acknowledgement, the fsync timer or the end of a back-off. Acks are
//! awaited in send order (`FuturesOrdered`), so the spool is committed up to
//! the last contiguous acknowledgement; the first failure rewinds the spool to
//! the oldest unacknowledged event and re-sends from there after a back-off,
//! which keeps each call's order (a re-send may duplicate, never reorder).

use super::context::Context;
use super::{KafkaConfig, KafkaMetrics, publisher::Cmd, send};
use crate::adapter::events::{
    envelope,
    spool::{Spool, SpoolError},
};
use crate::application::{
    health::{DependencyState, Readiness},
    ports::events::{CallEvent, PublishError},
};
use futures_util::{StreamExt, future::BoxFuture, stream::FuturesOrdered};
use rdkafka::producer::{FutureProducer, Producer, PurgeConfig};
use std::sync::Arc;
use tokio::{
    sync::{mpsc, oneshot},
    time::Instant,
};

/// Acks between two writes of the committed offset while busy.
const COMMIT_EVERY: u64 = 1024;

/// Bytes of events the disk refused (full, or over the file-size limit) held
/// in memory, in order, until the spool takes them again; beyond, events are
/// refused like a full spool.
pub(super) const BACKLOG_MAX_BYTES: usize = 64 * 1024 * 1024;

/// Failed sends in a row after which the producer is made anew: an
/// idempotent producer whose broker lost its state (a broker restarted
/// empty) can time out every send without ever reporting a fatal error.
const RECREATE_AFTER: u32 = 3;

/// How long the disk is left alone after it refused the backlog.
const DRAIN_PAUSE: std::time::Duration = std::time::Duration::from_millis(500);

pub(super) struct Driver {
    config: KafkaConfig,
    source: String,
    spool: Spool,
    producer: FutureProducer<Context>,
    context: Context,
    metrics: KafkaMetrics,
    readiness: Option<Arc<Readiness>>,
    in_flight: FuturesOrdered<BoxFuture<'static, (u64, send::Outcome)>>,
    /// A record librdkafka had no room for, sent first next time.
    stash: Option<(u64, Vec<u8>)>,
    /// Sequence after the last acknowledged event.
    acked: u64,
    backoff_until: Option<Instant>,
    /// Flush requests: answered when `committed` reaches the sequence.
    waiters: Vec<(u64, oneshot::Sender<()>)>,
    full: bool,
    healthy: Option<bool>,
    /// An fsync running on a blocking thread, and the records it covers:
    /// the async workers never wait on the disk.
    syncing: Option<tokio::task::JoinHandle<(usize, std::io::Result<()>)>>,
    /// Events the disk refused, oldest first, and their bytes: written to
    /// the spool before any newer event (see [`BACKLOG_MAX_BYTES`]).
    backlog: std::collections::VecDeque<Vec<u8>>,
    backlog_bytes: usize,
    /// No drain attempt before this (the disk refused the last one).
    drain_after: Option<Instant>,
    /// Sends failed since the last acknowledgement.
    failures_in_row: u32,
}

impl Driver {
    pub(super) fn new(
        config: KafkaConfig,
        source: String,
        spool: Spool,
        producer: FutureProducer<Context>,
        context: Context,
        metrics: KafkaMetrics,
        readiness: Option<Arc<Readiness>>,
    ) -> Self {
        let acked = spool.committed();
        let d = Self {
            config,
            source,
            spool,
            producer,
            context,
            metrics,
            readiness,
            in_flight: FuturesOrdered::new(),
            stash: None,
            acked,
            backoff_until: None,
            waiters: Vec::new(),
            full: false,
            healthy: None,
            syncing: None,
            backlog: Default::default(),
            backlog_bytes: 0,
            drain_after: None,
            failures_in_row: 0,
        };
        d.gauges();
        d
    }

    pub(super) async fn run(mut self, mut rx: mpsc::Receiver<Cmd>) {
        let mut sync_tick = tokio::time::interval(self.config.fsync_interval());
        sync_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut line = Vec::with_capacity(1024);
        loop {
            self.fill();
            let backoff = self.backoff_until;
            tokio::select! {
                cmd = rx.recv() => {
                    let Some(cmd) = cmd else { break };
                    if self.commands(cmd, &mut rx, &mut line) {
                        return;
                    }
                }
                Some((seq, outcome)) = self.in_flight.next(), if !self.in_flight.is_empty() => {
                    self.delivered(seq, outcome);
                }
                _ = sync_tick.tick() => {
                    self.drain_backlog();
                    self.start_sync();
                    self.commit();
                }
                done = async { self.syncing.as_mut().expect("checked").await }, if self.syncing.is_some() => {
                    self.syncing = None;
                    match done {
                        Ok((records, Ok(()))) => self.spool.synced(records),
                        Ok((_, Err(e))) => tracing::error!(error = %e, "event spool: fsync failed"),
                        Err(e) => tracing::error!(error = %e, "event spool: fsync task failed"),
                    }
                    if self.spool.wants_sync() {
                        self.start_sync();
                    }
                }
                _ = tokio::time::sleep_until(backoff.unwrap_or_else(Instant::now)), if backoff.is_some() => {
                    self.backoff_until = None;
                }
            }
        }
        // The handle is gone without `close`: keep what was accepted.
        let _ = self.spool.sync();
        self.commit();
    }

    /// Handles `first` and whatever else is queued, flushing the spool once
    /// before answering: an accepted event is in the OS, whatever happens next.
    /// Returns true on `Close`.
    fn commands(&mut self, first: Cmd, rx: &mut mpsc::Receiver<Cmd>, line: &mut Vec<u8>) -> bool {
        let mut replies = Vec::new();
        // Appended since the last flush: undone together if a write fails.
        let mut batch = Vec::new();
        let mut next = Some(first);
        let mut close = None;
        while let Some(cmd) = next.take() {
            match cmd {
                Cmd::Event(ev, reply) => {
                    let result = self.append(&ev, line, &mut batch);
                    if result.is_ok() {
                        self.metrics.accepted.inc();
                    }
                    replies.push((reply, result));
                }
                Cmd::Flush(done) => self.waiters.push((self.next_seq(), done)),
                Cmd::Close(done) => {
                    close = Some(done);
                    break;
                }
            }
            next = rx.try_recv().ok();
        }
        if let Err(e) = self.spool.flush() {
            self.refused_by_disk(&e, batch);
        }
        if self.spool.wants_sync() {
            self.start_sync();
        }
        for (reply, result) in replies {
            let _ = reply.send(result);
        }
        self.gauges();
        self.answer_waiters();
        if let Some(done) = close {
            self.close(done);
            return true;
        }
        false
    }

    fn close(&mut self, done: oneshot::Sender<()>) {
        self.drain_after = None;
        self.drain_backlog();
        if !self.backlog.is_empty() {
            tracing::error!(
                events = self.backlog.len(),
                "event spool: the disk still refuses writes at shutdown, events held in memory are lost"
            );
        }
        let _ = self.spool.sync();
        self.commit();
        let _ = done.send(());
    }

    /// The sequence number the next accepted event gets: the backlog goes
    /// to the spool, in order, before anything newer.
    fn next_seq(&self) -> u64 {
        self.spool.next_seq() + self.backlog.len() as u64
    }

    fn append(
        &mut self,
        ev: &CallEvent,
        line: &mut Vec<u8>,
        batch: &mut Vec<Vec<u8>>,
    ) -> Result<(), PublishError> {
        line.clear();
        // Serialising a `Value` cannot fail.
        let _ = serde_json::to_writer(&mut *line, &envelope(ev, &self.source));
        if !self.backlog.is_empty() {
            // Behind older events the disk refused: keep the order.
            return self.hold(line.clone(), ev);
        }
        match self.spool.append(line) {
            Ok(_) => {
                self.full = false;
                batch.push(line.clone());
                Ok(())
            }
            Err(SpoolError::Io(e)) => {
                self.refused_by_disk(&e, std::mem::take(batch));
                self.hold(line.clone(), ev)
            }
            Err(e) => Err(self.refuse(e.to_string(), ev)),
        }
    }

    /// A write to the spool failed: every record since the last flush was
    /// undone (`batch`); they go first in the backlog, in order.
    fn refused_by_disk(&mut self, e: &std::io::Error, batch: Vec<Vec<u8>>) {
        if self.backlog.is_empty() {
            tracing::warn!(error = %e, "event spool: the disk refused events, holding them in memory");
        }
        self.backlog_bytes += batch.iter().map(Vec::len).sum::<usize>();
        for payload in batch.into_iter().rev() {
            self.backlog.push_front(payload);
        }
    }

    /// Keeps an event the disk refused in the backlog, within its bound.
    fn hold(&mut self, payload: Vec<u8>, ev: &CallEvent) -> Result<(), PublishError> {
        if self.backlog_bytes + payload.len() > BACKLOG_MAX_BYTES {
            let why = format!(
                "spool I/O failing and {} bytes held in memory",
                self.backlog_bytes
            );
            return Err(self.refuse(why, ev));
        }
        self.backlog_bytes += payload.len();
        self.backlog.push_back(payload);
        Ok(())
    }

    fn refuse(&mut self, why: String, ev: &CallEvent) -> PublishError {
        self.metrics.spool_full.inc();
        // One log line per episode; the counter has every refusal.
        if !self.full {
            self.full = true;
            tracing::error!(error = %why, call_id = %ev.call_id, "call events refused: Kafka spool full or failing");
        }
        PublishError::Full(why)
    }

    /// Moves the backlog to the spool while the disk takes it, up to 256
    /// events a turn, one flush each so a refusal undoes only that one (a
    /// wholly acknowledged segment is replaced first, which frees its space).
    /// After a refusal, tried again after [`DRAIN_PAUSE`] or an acknowledgement.
    fn drain_backlog(&mut self) {
        if self.backlog.is_empty() || self.drain_after.is_some_and(|t| Instant::now() < t) {
            return;
        }
        if let Err(e) = self.spool.reclaim() {
            tracing::debug!(error = %e, "event spool: segment not replaced");
        }
        let mut written = 0;
        while written < 256 && written < self.backlog.len() {
            let ok =
                self.spool.append(&self.backlog[written]).is_ok() && self.spool.flush().is_ok();
            if !ok {
                self.drain_after = Some(Instant::now() + DRAIN_PAUSE);
                break;
            }
            written += 1;
        }
        for p in self.backlog.drain(..written) {
            self.backlog_bytes -= p.len();
        }
        if written > 0 && self.backlog.is_empty() {
            tracing::info!("event spool: the disk takes events again, backlog written");
        }
        self.gauges();
    }

    /// Sends from the spool until the window is full or the spool is read out.
    fn fill(&mut self) {
        if self.backoff_until.is_some() {
            return;
        }
        while self.in_flight.len() < self.config.max_in_flight.max(1) {
            let next = match self.stash.take() {
                Some(r) => Some(r),
                None => match self.spool.read_next() {
                    Ok(r) => r,
                    Err(e) => {
                        tracing::error!(error = %e, "event spool: read failed");
                        self.fail(format!("spool read: {e}"));
                        return;
                    }
                },
            };
            let Some((seq, payload)) = next else { return };
            match send::send(&self.producer, &self.config.topic, payload) {
                Ok(ack) => self
                    .in_flight
                    .push_back(Box::pin(async move { (seq, ack.await) })),
                Err((e, payload)) => {
                    // librdkafka's queue is full: wait for acks to make room.
                    tracing::debug!(error = %e, "kafka queue full");
                    self.stash = Some((seq, payload));
                    if self.in_flight.is_empty() {
                        self.fail(e);
                    }
                    return;
                }
            }
        }
    }

    fn delivered(&mut self, seq: u64, outcome: send::Outcome) {
        match outcome {
            Ok(()) => {
                self.acked = seq + 1;
                self.failures_in_row = 0;
                self.metrics.sent.inc();
                self.set_health(true, String::new());
                if self.in_flight.is_empty()
                    || !self.waiters.is_empty()
                    || self.acked - self.spool.committed() >= COMMIT_EVERY
                {
                    self.commit();
                }
            }
            Err(e) => self.fail(e),
        }
    }

    /// A send failed: drop the window, rewind the spool to the first
    /// unacknowledged event and try again after a back-off.
    fn fail(&mut self, error: String) {
        self.metrics.delivery_errors.inc();
        let error = match self.context.last() {
            Some(why) => format!("{error} ({why})"),
            None => error,
        };
        self.set_health(false, error);
        self.commit();
        self.in_flight = FuturesOrdered::new();
        self.stash = None;
        // Queued sends would go out after our re-sends and reorder the call.
        self.producer.purge(PurgeConfig::default().queue());
        self.failures_in_row += 1;
        let stuck = self.failures_in_row.is_multiple_of(RECREATE_AFTER);
        if self.producer.client().fatal_error().is_some() || stuck {
            tracing::warn!(
                failures_in_row = self.failures_in_row,
                "kafka producer made anew (fatal error, or sends failing in a row)"
            );
            match self
                .config
                .client_config()
                .create_with_context(self.context.clone())
            {
                Ok(p) => self.producer = p,
                Err(e) => tracing::error!(error = %e, "kafka producer could not be recreated"),
            }
        }
        self.spool.rewind();
        self.backoff_until = Some(Instant::now() + self.config.retry_backoff());
    }

    fn commit(&mut self) {
        if self.acked > self.spool.committed() {
            if let Err(e) = self.spool.commit(self.acked) {
                tracing::error!(error = %e, "event spool: commit failed (events will be re-sent)");
            }
            // Acknowledged records may free room for the backlog.
            self.drain_after = None;
            self.gauges();
            self.answer_waiters();
        }
    }

    fn answer_waiters(&mut self) {
        let committed = self.spool.committed();
        let (done, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut self.waiters)
            .into_iter()
            .partition(|(upto, _)| *upto <= committed);
        self.waiters = keep;
        for (_, tx) in done {
            let _ = tx.send(());
        }
    }

    /// Starts an fsync of what is flushed, off the async workers, unless one runs.
    fn start_sync(&mut self) {
        if self.syncing.is_some() || self.spool.unsynced() == 0 {
            return;
        }
        match self.spool.sync_handle() {
            Ok((file, records)) => {
                self.syncing = Some(tokio::task::spawn_blocking(move || {
                    (records, file.sync_data())
                }));
            }
            Err(e) => tracing::error!(error = %e, "event spool: flush before fsync failed"),
        }
    }

    fn gauges(&self) {
        self.metrics.spool_corrupt.inner().store(
            self.spool.corrupt_records(),
            std::sync::atomic::Ordering::Relaxed,
        );
        self.metrics
            .spooled_bytes
            .set(self.spool.pending_bytes() as i64);
        self.metrics.backlog_events.set(self.backlog.len() as i64);
        self.metrics
            .spooled_events
            .set((self.next_seq() - self.spool.committed()) as i64);
    }

    fn set_health(&mut self, up: bool, detail: String) {
        if self.healthy == Some(up) {
            // Still down: the newest reason (a TLS handshake that timed out
            // comes after the first send timeout) replaces the first one.
            if !up && let Some(r) = &self.readiness {
                r.set(
                    "kafka",
                    DependencyState::Down {
                        detail: format!("{detail}; events spooled on disk"),
                    },
                );
            }
            return;
        }
        self.healthy = Some(up);
        if up {
            self.context.clear();
            tracing::info!("kafka reachable: sending spooled call events");
        } else {
            tracing::warn!(error = %detail, "kafka unreachable: spooling call events on disk");
        }
        if let Some(r) = &self.readiness {
            r.set(
                "kafka",
                if up {
                    DependencyState::Up
                } else {
                    DependencyState::Down {
                        detail: format!("{detail}; events spooled on disk"),
                    }
                },
            );
        }
    }
}
