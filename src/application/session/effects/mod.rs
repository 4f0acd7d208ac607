//! The call's writes, run beside the loop.
//!
//! The call record goes to the store (a Redis round trip in production),
//! events to the publisher and the history record to its store. None of them
//! may hold up the loop: while it waits, no audio, transcript or reply of the
//! call would be handled, and a barge-in would wait with them. So the loop
//! only submits them, and one task per call runs them one after another in
//! the order submitted: events keep their order, and a record is written
//! before the event that follows it, as when the loop awaited each.
//!
//! The writer numbers the call's events (`sequence`, from 1, or on from the
//! number a taken-over call's record holds) and keeps the highest number it
//! gave in the call's record, written *before* the events it covers are
//! published: an instance that takes the call over after this one died goes
//! on from there, so no number is used twice, and a gap only stands for
//! events that died unpublished with the process. What is queued together is
//! written together: one record write covers the whole batch.
//!
//! The channel is unbounded so that submitting never waits; what it holds is
//! bounded by the call itself (a few writes per turn). `close` lets the end
//! of the call wait for every write before the session reports its end.

use super::SessionDeps;
use crate::application::{
    admission::CallPermit,
    ports::{
        calls::CallSummary, events::CallEvent, events::EventPublisher, history::CallHistory,
        history::CallRecord, store::CallStore,
    },
};
use crate::domain::CallId;
use std::{sync::Arc, time::Duration};
use tokio::{sync::mpsc, task::JoinHandle};
use tracing::Instrument;

/// The longest a call's end waits on the history store: the session's
/// admission permit (and so a drain) waits on it.
const HISTORY_TIMEOUT: Duration = Duration::from_secs(5);

/// One write, or the end of the writes an admission slot waits for.
pub(super) enum Write {
    Record(CallSummary),
    Event(CallEvent),
    History(CallRecord),
    /// An attended handover gives the slot back, but only once `call.ended`
    /// and the history before it are written: a drain must not stop the
    /// gateway with them pending.
    Release(CallPermit),
}

/// The submitting side, owned by the session.
pub(super) struct Effects {
    tx: Option<mpsc::UnboundedSender<Write>>,
    /// Until `start`.
    rx: Option<mpsc::UnboundedReceiver<Write>>,
    task: Option<JoinHandle<()>>,
}

/// What the writer needs of the session's ports, and its numbering.
struct Writer {
    call_id: CallId,
    store: Arc<dyn CallStore>,
    events: Arc<dyn EventPublisher>,
    history: Arc<dyn CallHistory>,
    /// The last sequence number given to an event.
    numbered: u64,
    /// The highest number the stored record covers.
    covered: u64,
    /// The last record written, written again when events need a higher cover.
    record: Option<CallSummary>,
}

/// Most writes taken in one batch.
const BATCH: usize = 64;

impl Effects {
    /// Effects submitted before `start` wait in the channel.
    pub(super) fn new() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Self {
            tx: Some(tx),
            rx: Some(rx),
            task: None,
        }
    }

    /// Spawns the writer, in the caller's span (the call's), so its logs
    /// carry the call. The call's events are numbered from `published + 1`
    /// (`published`: what the router used already, or what the record of a
    /// call taken over covers; that `record` is the one written again when
    /// events need a higher cover before the session writes its own).
    pub(super) fn start(
        &mut self,
        deps: &SessionDeps,
        call_id: CallId,
        published: u64,
        record: Option<CallSummary>,
    ) {
        let Some(rx) = self.rx.take() else { return };
        let writer = Writer {
            call_id,
            store: deps.store.clone(),
            events: deps.events.clone(),
            history: deps.history.clone(),
            numbered: published,
            covered: published,
            record,
        };
        self.task = Some(tokio::spawn(
            writer.run(rx).instrument(tracing::Span::current()),
        ));
    }

    /// Queues one effect; never waits.
    pub(super) fn submit(&self, effect: Write) {
        if let Some(tx) = &self.tx {
            // Only fails once the writer is gone, which `close` alone causes.
            let _ = tx.send(effect);
        }
    }

    /// Waits until everything submitted is done; later submissions are dropped.
    pub(super) async fn close(&mut self) {
        self.tx = None;
        if let Some(rx) = self.rx.take() {
            // Never started (the session did not run): nothing was written.
            drop(rx);
        }
        if let Some(task) = self.task.take()
            && let Err(e) = task.await
        {
            tracing::error!(error = %e, "the call's writer failed");
        }
    }
}

impl Writer {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Write>) {
        let mut batch = Vec::new();
        while rx.recv_many(&mut batch, BATCH).await > 0 {
            self.number(&mut batch);
            for effect in batch.drain(..) {
                self.apply(effect).await;
            }
        }
    }

    /// Numbers the batch's events and stamps its records with the batch's
    /// highest number; when an event comes before any record of the batch,
    /// the last record is queued again ahead of it, stamped likewise.
    fn number(&mut self, batch: &mut Vec<Write>) {
        let first = batch.iter().position(|w| matches!(w, Write::Event(_)));
        let top = self.numbered
            + batch
                .iter()
                .filter(|w| matches!(w, Write::Event(_)))
                .count() as u64;
        for w in batch.iter_mut() {
            match w {
                Write::Event(ev) if ev.sequence.is_none() => {
                    self.numbered += 1;
                    ev.sequence = Some(self.numbered);
                }
                Write::Record(r) => stamp(r, top),
                _ => {}
            }
        }
        let covered_first =
            first.is_some_and(|at| batch[..at].iter().any(|w| matches!(w, Write::Record(_))));
        if let (Some(at), false) = (first, covered_first)
            && top > self.covered
            && let Some(mut r) = self.record.clone()
        {
            stamp(&mut r, top);
            batch.insert(at, Write::Record(r));
        }
    }

    /// Failures are logged, never fatal to the call.
    async fn apply(&mut self, effect: Write) {
        match effect {
            Write::Record(record) => {
                self.covered = record.resume.as_ref().map_or(0, |r| r.sequence);
                self.record = Some(record.clone());
                if let Err(e) = self.store.put(record).await {
                    tracing::warn!(call_id = %self.call_id, error = %e, "call record not stored");
                }
            }
            Write::Event(event) => {
                let event_type = event.event_type;
                if let Err(e) = self.events.publish(event).await {
                    tracing::error!(call_id = %self.call_id, event = %event_type, error = %e, "call event not published");
                }
            }
            Write::History(record) => {
                match tokio::time::timeout(HISTORY_TIMEOUT, self.history.record(record)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => {
                        tracing::warn!(call_id = %self.call_id, error = %e, "call history not written")
                    }
                    Err(_) => {
                        tracing::warn!(call_id = %self.call_id, "call history write timed out")
                    }
                }
            }
            Write::Release(permit) => drop(permit),
        }
    }
}

/// Sets the highest event number `record` covers.
fn stamp(record: &mut CallSummary, sequence: u64) {
    if let Some(r) = record.resume.as_mut() {
        r.sequence = sequence;
    }
}

#[cfg(test)]
mod tests;
