//! The call router: the inbound and outbound call use cases and call control.
//!
//! [`CallRouter::run`] is its task: it takes the events stream's items, the
//! API's requests (through [`RouterHandle`]) and its sessions' end reports one
//! at a time, so it needs no locks. It admits calls (or refuses them while
//! draining), starts a session per answered call, places outbound calls and
//! turns their ringing, busy, no-answer and failure into states and events,
//! forwards DTMF and hangups, ends calls whose channel vanished, and forgets
//! sessions once they report their end.
//!
//! Each ARI event is first classified (`classify`, a plain function: no I/O),
//! then acted on.

mod classify;
mod control;
mod handed_over;
mod leftovers;
mod outbound;
mod ringing_out;
mod takeover;
mod transfer;

pub use control::{ControlRequest, RouterHandle};
pub use takeover::Peers;

use super::{
    admission::CallAdmission,
    live_calls::LiveCalls,
    ports::{calls::ControlError, events::CallEvent, telephony::HangupCause},
    session::{SessionCommand, SessionDeps, SessionEnded, spawn_inbound},
    shutdown::{Shutdown, Stage},
};
use crate::domain::{CallId, TenantId, call::EndReason, events::EventType};
use ari::{Bridge, ChannelId, Event};
use classify::{Holdings, Route, classify};
use outbound::{Internal, Pending};
use std::{collections::HashMap, sync::Arc};
use tokio::sync::mpsc;

/// What the events stream tells the router.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // events dominate; boxing them would allocate per event
pub enum Feed {
    /// An ARI event, in the order Asterisk sent it.
    Event(Event),
    /// What Asterisk has, fetched after each (re)connect.
    Resynced {
        /// Every channel Asterisk has.
        channels: Vec<ChannelId>,
        /// Those of them that are answered (state `Up`), with their names: a
        /// call ringing out that answered while the events were away.
        answered: Vec<(ChannelId, String)>,
        /// When the snapshot was asked for.
        requested_at: std::time::SystemTime,
        /// Every bridge Asterisk has.
        bridges: Vec<Bridge>,
    },
    /// Another connection took the Stasis app over: no event comes any more
    /// (until the app is taken back: `Listening`); only further `Resynced`
    /// snapshots tell which calls' channels remain.
    Replaced,
    /// The events socket is connected (again): the app is this instance's.
    Listening,
    /// Anything else about the stream (connected, disconnected): logged only.
    Status(String),
}

/// What Asterisk had after a (re)connect.
pub(super) struct Snapshot<'a> {
    channels: &'a [ChannelId],
    answered: &'a [(ChannelId, String)],
    requested_at: std::time::SystemTime,
}

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
        /// Barge-in holds that resumed the agent: noise, backchannel, echo.
        barge_ins_resumed: [u32; 3],
    },
}

/// Routes events to sessions.
#[derive(Debug)]
pub struct CallRouter {
    deps: SessionDeps,
    admission: Arc<CallAdmission>,
    calls: LiveCalls,
    ended_tx: mpsc::UnboundedSender<SessionEnded>,
    ended_rx: mpsc::UnboundedReceiver<SessionEnded>,
    /// Outbound calls placed and not answered yet, by their channel.
    pending: HashMap<ChannelId, Pending>,
    /// Calls an earlier run handed to a person, by each of their channels.
    handed_over: HashMap<ChannelId, handed_over::HandedOver>,
    internal_tx: mpsc::UnboundedSender<Internal>,
    internal_rx: mpsc::UnboundedReceiver<Internal>,
    /// Whether the calls an earlier process of this instance left live have
    /// been looked for (at the first resync the store answers).
    leftovers_checked: bool,
    /// With `[ha]`: the lease's members, whose calls are taken over.
    peers: Option<Peers>,
    /// The events socket (re)opened with `[ha]`: the other members' live
    /// calls are looked for at the next resync.
    takeover_due: bool,
}

impl CallRouter {
    /// A router holding no calls; [`CallRouter::run`] runs it.
    pub fn new(deps: SessionDeps, admission: Arc<CallAdmission>) -> Self {
        let (ended_tx, ended_rx) = mpsc::unbounded_channel();
        let (internal_tx, internal_rx) = mpsc::unbounded_channel();
        Self {
            deps,
            admission,
            calls: LiveCalls::default(),
            ended_tx,
            ended_rx,
            pending: HashMap::new(),
            handed_over: HashMap::new(),
            internal_tx,
            internal_rx,
            leftovers_checked: false,
            peers: None,
            takeover_due: false,
        }
    }

    /// Takes over the calls of `peers` each time this instance becomes active.
    pub fn with_peers(mut self, peers: Peers) -> Self {
        self.peers = Some(peers);
        self
    }

    /// Calls held (answered or still ringing out).
    pub fn live(&self) -> usize {
        self.calls.len() + self.pending.len()
    }

    /// Routes until `feed` ends (shutdown, or the app was taken over), then
    /// until its last session has ended. Each outcome goes to `report`.
    /// At [`Stage::HangUp`] every call still up is hung up.
    pub async fn run<I: Into<Feed> + Send>(
        mut self,
        mut feed: mpsc::Receiver<I>,
        mut control: mpsc::Receiver<ControlRequest>,
        mut shutdown: Shutdown,
        mut report: impl FnMut(&Outcome) + Send,
    ) {
        // Once answered (hang up, or never will), the stop is not waited on again.
        let mut stop_pending = true;
        // False while another connection holds the app: API requests are refused.
        let mut listening = true;
        let mut hand_over = self.peers.as_ref().map(|p| p.hand_over.clone());
        loop {
            tokio::select! {
                Some(()) = changed(&mut hand_over) => self.leave_calls(),
                item = feed.recv() => match item.map(Into::into) {
                    Some(Feed::Event(e)) => {
                        if let Some(outcome) = self.on_event(&e).await {
                            report(&outcome);
                        }
                    }
                    Some(Feed::Resynced { channels, answered, bridges, requested_at }) => {
                        let snapshot = Snapshot { channels: &channels, answered: &answered, requested_at };
                        for outcome in self.on_resynced(snapshot, &bridges).await {
                            report(&outcome);
                        }
                    }
                    Some(Feed::Status(status)) => tracing::debug!(item = %status, "ARI stream"),
                    // Another connection took the app over: answered calls go
                    // on (their media needs no events) until they end or
                    // their channel is found gone by a snapshot; calls still
                    // ringing out cannot be followed, so they end now.
                    Some(Feed::Replaced) => {
                        listening = false;
                        for outcome in self.abandon_ringing().await {
                            report(&outcome);
                        }
                    }
                    Some(Feed::Listening) => {
                        listening = true;
                        self.takeover_due = self.peers.is_some();
                    }
                    // The stream stopped (shutdown): likewise, then wait for
                    // the sessions below.
                    None => {
                        for outcome in self.abandon_ringing().await {
                            report(&outcome);
                        }
                        break;
                    }
                },
                Some(end) = self.ended_rx.recv() => report(&self.on_ended(end)),
                Some(req) = control.recv() => match listening {
                    true => self.on_control(req).await,
                    false => req.refuse(not_listening()),
                },
                Some(msg) = self.internal_rx.recv() => {
                    if let Some(outcome) = self.on_internal(msg).await {
                        report(&outcome);
                    }
                }
                hang_up = shutdown.reached(Stage::HangUp), if stop_pending => {
                    stop_pending = false;
                    if hang_up {
                        self.hang_up_all(EndReason::Shutdown);
                    }
                }
            }
        }
        while self.live() > 0 {
            tokio::select! {
                // The stream may stop before a planned handover is told here.
                Some(()) = changed(&mut hand_over) => self.leave_calls(),
                Some(end) = self.ended_rx.recv() => report(&self.on_ended(end)),
                // Answered at once: nothing here can follow a call any more.
                Some(req) = control.recv() => req.refuse(not_listening()),
                hang_up = shutdown.reached(Stage::HangUp), if stop_pending => {
                    stop_pending = false;
                    if hang_up {
                        self.hang_up_all(EndReason::Shutdown);
                    }
                }
                else => break,
            }
        }
    }

    /// Publishes one event of a call the router handles itself (before a
    /// session exists), the call's `sequence`-th.
    async fn publish(
        &self,
        call_id: &CallId,
        tenant: &TenantId,
        t: EventType,
        data: serde_json::Value,
        sequence: u64,
    ) {
        let ev = CallEvent::new(t, call_id.clone(), tenant.clone(), wall_clock(), data)
            .numbered(sequence);
        if let Err(e) = self.deps.events.publish(ev).await {
            tracing::error!(%call_id, event = %t, error = %e, "call event not published");
        }
    }

    /// Handles one ARI event: classify, then act.
    async fn on_event(&mut self, event: &Event) -> Option<Outcome> {
        match classify(event, self) {
            Route::Ignore => None,
            Route::Start(call) => {
                let channel = call.caller.clone();
                match self.admission.try_admit() {
                    Ok(permit) => {
                        let handle =
                            spawn_inbound(self.deps.clone(), *call, permit, self.ended_tx.clone());
                        self.calls.insert(channel.clone(), handle);
                        Some(Outcome::Started { channel })
                    }
                    Err(e) => {
                        tracing::warn!(%channel, reason = e.label(), "inbound call refused: {e}");
                        Some(self.refuse_with(channel, e.to_string(), HangupCause::Congestion))
                    }
                }
            }
            Route::Refuse { channel, reason } => Some(self.refuse(channel, reason)),
            Route::Forward { channel, command } => {
                self.send(&channel, command);
                None
            }
            Route::Outbound { channel, progress } => self.on_outbound(&channel, progress).await,
            Route::HandedOverLeft(channel) => {
                self.end_handed_over(&channel);
                None
            }
        }
    }

    /// After a (re)connect: calls whose channels are gone end, calls an
    /// earlier process left live end (first time only), and calls an earlier
    /// run handed to a person are taken up.
    async fn on_resynced(&mut self, snapshot: Snapshot<'_>, bridges: &[Bridge]) -> Vec<Outcome> {
        let channels = snapshot.channels;
        let gone = self.on_resync(channels);
        let mut outcomes = Vec::new();
        let mut leftovers = None;
        // With `[ha]`, the calls an earlier process of this instance left
        // are taken over like any member's (a restarted instance that wins
        // the lease resumes them), not ended.
        if !self.leftovers_checked && self.peers.is_none() {
            let ended = self.end_leftovers(channels, bridges).await;
            self.leftovers_checked = ended.is_some();
            leftovers = ended.as_ref().map(Vec::len);
            outcomes.extend(ended.into_iter().flatten());
        }
        let mut taken = None;
        if self.takeover_due
            && let Some(done) = self.take_over(channels, bridges).await
        {
            self.takeover_due = false;
            taken = Some(done.len());
            outcomes.extend(done);
        }
        // After the takeover: an outbound call it found ringing may have
        // been answered already (its StasisStart came before it was known).
        outcomes.extend(self.reconcile_ringing(&snapshot).await);
        let handed_over = self.adopt_handed_over(bridges);
        tracing::info!(
            taken,
            channels = channels.len(),
            bridges = bridges.len(),
            held = self.live(),
            handed_over,
            gone,
            leftovers,
            outcomes = outcomes.len(),
            "ARI resynchronised"
        );
        outcomes
    }

    /// After a reconnect: every held call whose channel is gone ends.
    fn on_resync<'a>(&mut self, present: impl IntoIterator<Item = &'a ChannelId>) -> usize {
        let gone = self.calls.vanished(present);
        for channel in &gone {
            self.send(channel, SessionCommand::ChannelLost);
        }
        gone.len()
    }

    /// A session finished: forget it.
    fn on_ended(&mut self, ended: SessionEnded) -> Outcome {
        self.calls.remove(&ended.caller);
        Outcome::Ended {
            channel: ended.caller,
            reason: ended.reason,
            latencies: ended.latencies,
            barge_in_delays_ms: ended.barge_in_delays_ms,
            barge_ins_resumed: ended.barge_ins_resumed,
        }
    }

    /// Asks every session to end (shutdown after the drain deadline).
    fn hang_up_all(&self, reason: EndReason) {
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
        self.refuse_with(channel, reason, HangupCause::Failure)
    }

    /// Hangs an unanswered call up with `cause`: congestion when the gateway
    /// has no room, so the caller's network may route the call elsewhere.
    fn refuse_with(&self, channel: ChannelId, reason: String, cause: HangupCause) -> Outcome {
        let telephony = self.deps.telephony.clone();
        let ch = channel.clone();
        tokio::spawn(async move {
            let _ = telephony.hangup(&ch, cause).await;
        });
        Outcome::Refused { channel, reason }
    }
}

impl Holdings for CallRouter {
    fn holds(&self, caller: &ChannelId) -> bool {
        self.calls.get(caller).is_some()
    }

    fn caller_of(&self, call: &CallId) -> Option<&ChannelId> {
        self.calls.caller_of(call)
    }

    fn ringing_out(&self, channel: &ChannelId) -> bool {
        self.pending.contains_key(channel)
    }

    fn handed_over(&self, channel: &ChannelId) -> bool {
        self.handed_over.contains_key(channel)
    }
}

/// Why an API request is refused while the app is another connection's or
/// the instance shuts down.
fn not_listening() -> ControlError {
    ControlError::NotListening(
        "this instance no longer receives Asterisk's events (the Stasis app was taken over or \
         it is shutting down); use another instance"
            .into(),
    )
}

/// The next change of `rx`; never, without one (or once its sender is gone).
async fn changed(rx: &mut Option<tokio::sync::watch::Receiver<u64>>) -> Option<()> {
    if let Some(r) = rx
        && r.changed().await.is_ok()
    {
        return Some(());
    }
    std::future::pending().await
}

/// The router's clock. The router's task and its use cases (which await
/// Asterisk) are its driver; the pure steps (`classify`, `Dialling::step`)
/// are given the time.
#[allow(clippy::disallowed_methods)]
fn wall_clock() -> std::time::SystemTime {
    std::time::SystemTime::now()
}
