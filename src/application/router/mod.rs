//! The call router: the inbound and outbound call use cases and call control.
//!
//! The composition root feeds it the events stream's items and the API's
//! requests (through [`RouterHandle`]), one at a time from one task, so it
//! needs no locks. It admits calls (or refuses them while draining), starts a
//! session per answered call, places outbound calls and turns their ringing,
//! busy, no-answer and failure into states and events, forwards DTMF and
//! hangups, ends calls whose channel vanished, and forgets sessions once they
//! report their end.

mod control;
mod handed_over;
mod outbound;
mod transfer;

pub use control::{ControlRequest, RouterHandle};

use super::{
    admission::CallAdmission,
    live_calls::{Decision, LiveCalls},
    ports::{events::CallEvent, telephony::HangupCause},
    session::{SessionCommand, SessionDeps, SessionEnded, spawn_inbound},
};
use crate::domain::{CallId, TenantId, call::EndReason, events::EventType};
use ari::{ChannelId, Event};
use outbound::{Internal, Pending};
use std::{collections::HashMap, sync::Arc};
use tokio::sync::mpsc;

/// What the router did, for metrics and logs.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A session started.
    Started {
        /// The caller's channel.
        channel: ChannelId,
    },
    /// A call was refused and hung up.
    Refused {
        /// The caller's channel.
        channel: ChannelId,
        /// Why.
        reason: String,
    },
    /// A session ended.
    Ended {
        /// The caller's channel.
        channel: ChannelId,
        /// Why.
        reason: EndReason,
        /// Turn figures (empty for calls that never talked).
        latencies: Vec<crate::application::session::TurnLatency>,
        /// Barge-in delays in ms.
        barge_in_delays_ms: Vec<f64>,
    },
}

/// Routes events to sessions.
#[derive(Debug)]
pub struct CallRouter {
    deps: SessionDeps,
    admission: Arc<CallAdmission>,
    calls: LiveCalls,
    ended_tx: mpsc::UnboundedSender<SessionEnded>,
    /// Outbound calls placed and not answered yet, by their channel.
    pending: HashMap<ChannelId, Pending>,
    /// Calls an earlier run handed to a person, by each of their channels.
    handed_over: HashMap<ChannelId, handed_over::HandedOver>,
    internal_tx: mpsc::UnboundedSender<Internal>,
    internal_rx: mpsc::UnboundedReceiver<Internal>,
}

impl CallRouter {
    /// A router and the receiver of session ends, which the caller must feed
    /// back through [`CallRouter::on_ended`].
    pub fn new(
        deps: SessionDeps,
        admission: Arc<CallAdmission>,
    ) -> (Self, mpsc::UnboundedReceiver<SessionEnded>) {
        let (ended_tx, ended_rx) = mpsc::unbounded_channel();
        let (internal_tx, internal_rx) = mpsc::unbounded_channel();
        let router = Self {
            deps,
            admission,
            calls: LiveCalls::default(),
            ended_tx,
            pending: HashMap::new(),
            handed_over: HashMap::new(),
            internal_tx,
            internal_rx,
        };
        (router, ended_rx)
    }

    /// Calls held (answered or still ringing out).
    pub fn live(&self) -> usize {
        self.calls.len() + self.pending.len()
    }

    /// Waits for the router's own follow-ups (originate results); feed each to
    /// [`CallRouter::on_internal`]. Cancel-safe.
    pub async fn next_internal(&mut self) -> Option<Internal> {
        self.internal_rx.recv().await
    }

    /// Publishes one event of a call the router handles itself (before a session exists).
    async fn publish(
        &self,
        call_id: &CallId,
        tenant: &TenantId,
        t: EventType,
        data: serde_json::Value,
    ) {
        let ev = CallEvent::new(
            t,
            call_id.clone(),
            tenant.clone(),
            std::time::SystemTime::now(),
            data,
        );
        if let Err(e) = self.deps.events.publish(ev).await {
            tracing::error!(%call_id, event = %t, error = %e, "call event not published");
        }
    }

    /// Handles one ARI event.
    pub async fn on_event(&mut self, event: &Event) -> Option<Outcome> {
        if self.on_handed_over_event(event) {
            return None;
        }
        if let Some(outcome) = self.on_outbound_event(event).await {
            return outcome;
        }
        if self.on_transfer_leg_event(event) {
            return None;
        }
        match self.calls.on_event(event)? {
            Decision::Start(call) => {
                let channel = call.caller.clone();
                match self.admission.try_admit() {
                    Ok(permit) => {
                        let handle =
                            spawn_inbound(self.deps.clone(), *call, permit, self.ended_tx.clone());
                        self.calls.insert(channel.clone(), handle);
                        Some(Outcome::Started { channel })
                    }
                    Err(e) => Some(self.refuse(channel, e.to_string())),
                }
            }
            Decision::Refuse { channel, reason } => Some(self.refuse(channel, reason)),
            Decision::Forward { channel, command } => {
                self.send(&channel, command);
                None
            }
        }
    }

    /// After a reconnect: every held call whose channel is gone ends.
    pub fn on_resync<'a>(&mut self, present: impl IntoIterator<Item = &'a ChannelId>) -> usize {
        let gone = self.calls.vanished(present);
        for channel in &gone {
            self.send(channel, SessionCommand::ChannelLost);
        }
        gone.len()
    }

    /// A session finished: forget it.
    pub fn on_ended(&mut self, ended: SessionEnded) -> Outcome {
        self.calls.remove(&ended.caller);
        Outcome::Ended {
            channel: ended.caller,
            reason: ended.reason,
            latencies: ended.latencies,
            barge_in_delays_ms: ended.barge_in_delays_ms,
        }
    }

    /// Asks every session to end (shutdown after the drain deadline).
    pub fn hang_up_all(&self, reason: EndReason) {
        for h in self.calls.handles() {
            let _ = h.commands.try_send(SessionCommand::Hangup(reason.clone()));
        }
        for channel in self.pending.keys() {
            let (t, ch) = (self.deps.telephony.clone(), channel.clone());
            tokio::spawn(async move {
                let _ = t.hangup(&ch, HangupCause::Normal).await;
            });
        }
    }

    fn send(&self, channel: &ChannelId, command: SessionCommand) {
        if let Some(h) = self.calls.get(channel)
            && let Err(e) = h.commands.try_send(command)
        {
            tracing::warn!(%channel, call_id = %h.call_id, error = %e, "session did not take a command");
        }
    }

    /// Hangs the caller up without blocking the event loop.
    fn refuse(&self, channel: ChannelId, reason: String) -> Outcome {
        let telephony = self.deps.telephony.clone();
        let ch = channel.clone();
        tokio::spawn(async move {
            let _ = telephony.hangup(&ch, HangupCause::Failure).await;
        });
        Outcome::Refused { channel, reason }
    }
}
