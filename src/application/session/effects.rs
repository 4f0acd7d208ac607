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

/// What the writer needs of the session's ports.
struct Writer {
    call_id: CallId,
    store: Arc<dyn CallStore>,
    events: Arc<dyn EventPublisher>,
    history: Arc<dyn CallHistory>,
}

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
    /// carry the call.
    pub(super) fn start(&mut self, deps: &SessionDeps, call_id: CallId) {
        let Some(rx) = self.rx.take() else { return };
        let writer = Writer {
            call_id,
            store: deps.store.clone(),
            events: deps.events.clone(),
            history: deps.history.clone(),
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
    async fn run(self, mut rx: mpsc::UnboundedReceiver<Write>) {
        while let Some(effect) = rx.recv().await {
            self.apply(effect).await;
        }
    }

    /// Failures are logged, never fatal to the call.
    async fn apply(&self, effect: Write) {
        match effect {
            Write::Record(record) => {
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
