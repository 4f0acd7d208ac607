//! Taking over the live calls of the instances that held this Asterisk's
//! lease before (`[ha]`): at the first resync after this instance became
//! active, each live call a member's records name (this instance's own
//! too: an earlier process of it may have left them) is either resumed
//! (`session::spawn_taken_over`: its audio re-attached, its conversation
//! continued; an outbound call with the tenant and agent of its request;
//! an outbound call still ringing out is followed on as if placed here; a
//! call in an attended transfer waits on for its person) or, when it
//! cannot be (its caller gone, inbound and not answered yet, being
//! screened, in a blind transfer, no conversation yet, no room), ended as
//! a leftover
//! (`call.ended` reason `gateway_restart`). Calls handed to a person are
//! left to the handed-over watch, as after a restart.

use super::{
    CallRouter, Outcome,
    leftovers::{Remains, end_leftover, remains},
};
use crate::{
    application::{
        own_ids::{OwnChannel, is_own_channel},
        ports::directory::Route,
        ports::{calls::CallSummary, lease::LeaseStore, orchestrator::ConversationId},
        session::{InboundCall, OutboundStart, Takeover, spawn_taken_over},
    },
    domain::{
        CallId, Did,
        call::{Call, Direction, EndReason},
    },
};
use ari::{Bridge, ChannelId};
use std::{collections::HashSet, sync::Arc};

/// Records read per member at most.
const MAX_TAKEN: usize = 100_000;
/// Calls re-attached at once in a takeover (see `Session::resume`).
const REATTACH_AT_ONCE: usize = 4;

/// Who else may have held the lease: set with `[ha] enabled`.
#[derive(Clone)]
pub struct Peers {
    /// The lease, which knows its members.
    pub lease: Arc<dyn LeaseStore>,
    /// This instance's name.
    pub me: String,
    /// Changes when the calls held here are another instance's to run
    /// (planned handover, or the lease taken by a newer holder).
    pub hand_over: tokio::sync::watch::Receiver<u64>,
}

impl std::fmt::Debug for Peers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Peers")
            .field("me", &self.me)
            .finish_non_exhaustive()
    }
}

impl CallRouter {
    /// Leaves every answered call to the instance that holds the lease now.
    pub(super) fn leave_calls(&self) {
        tracing::warn!(
            calls = self.calls.len(),
            "leaving the calls to the new lease holder"
        );
        for h in self.calls.handles() {
            let _ = h
                .commands
                .try_send(crate::application::session::SessionCommand::Abandon);
        }
    }

    /// Takes over (or ends) the other members' live calls. `None`: the
    /// store or the lease did not answer (tried again at the next resync).
    pub(super) async fn take_over(
        &mut self,
        channels: &[ChannelId],
        bridges: &[Bridge],
    ) -> Option<Vec<Outcome>> {
        let peers = self.peers.clone()?;
        let members = match peers.lease.members().await {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "lease members not read: takeover at the next resync");
                return None;
            }
        };
        let mut outcomes = Vec::new();
        let reattach = Arc::new(tokio::sync::Semaphore::new(REATTACH_AT_ONCE));
        // This instance's own records too: those an earlier process of it
        // left (the calls held here now are skipped below).
        for member in &members {
            let calls = match self.deps.store.live_of(member, MAX_TAKEN).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(%member, error = %e, "live calls not read: takeover at the next resync");
                    return None;
                }
            };
            for call in calls {
                outcomes.extend(self.take_over_one(call, channels, bridges, &reattach));
            }
        }
        Some(outcomes)
    }

    fn take_over_one(
        &mut self,
        call: CallSummary,
        channels: &[ChannelId],
        bridges: &[Bridge],
        reattach: &Arc<tokio::sync::Semaphore>,
    ) -> Option<Outcome> {
        let held: HashSet<&CallId> = (self.calls.handles().map(|h| &h.call_id))
            .chain(self.pending.values().map(|p| p.call_id()))
            .collect();
        if held.contains(&call.call_id) {
            return None;
        }
        let remains = remains(&call.call_id, channels, bridges);
        if remains.handed_over {
            return None;
        }
        if call.direction == Direction::Outbound
            && matches!(call.state.as_str(), "originating" | "ringing")
        {
            return match self.ringing_taken_over(&call, channels) {
                Ok(()) => None,
                Err(why) => Some(self.end_taken(call, remains, &why)),
            };
        }
        match resumable(&call, &remains, channels, bridges, reattach) {
            Ok((inbound, from)) => match self.admission.try_admit() {
                Ok(permit) => {
                    let channel = inbound.caller.clone();
                    let h = spawn_taken_over(
                        self.deps.clone(),
                        inbound,
                        from,
                        permit,
                        self.ended_tx.clone(),
                    );
                    self.calls.insert(channel.clone(), h);
                    Some(Outcome::Started { channel })
                }
                Err(e) => Some(self.end_taken(call, remains, &e.to_string())),
            },
            Err(why) => Some(self.end_taken(call, remains, why)),
        }
    }

    /// Ends a call that cannot be taken over, as a leftover.
    fn end_taken(&self, call: CallSummary, remains: Remains, why: &str) -> Outcome {
        tracing::warn!(call_id = %call.call_id, why, "ending a call of another instance that cannot be taken over");
        let channel = (remains.caller.clone())
            .unwrap_or_else(|| OwnChannel::Media(call.call_id.clone()).id());
        tokio::spawn(end_leftover(self.deps.clone(), call, remains));
        Outcome::Ended {
            channel,
            reason: EndReason::GatewayRestart,
            latencies: Vec::new(),
            barge_in_delays_ms: Vec::new(),
            barge_ins_resumed: [0; 3],
        }
    }
}

/// The caller and what the session needs, or why the call cannot go on here.
fn resumable(
    call: &CallSummary,
    remains: &Remains,
    channels: &[ChannelId],
    bridges: &[Bridge],
    reattach: &Arc<tokio::sync::Semaphore>,
) -> Result<(InboundCall, Takeover), &'static str> {
    let resume = call
        .resume
        .as_ref()
        .ok_or("no takeover data in the record")?;
    // In an attended transfer: the person's leg is followed on if it rings
    // still (one in the bridge is a call handed over, not come here).
    let transfer = match (call.state.as_str(), &resume.transfer) {
        ("active", _) => None,
        ("transferring", Some(target)) => {
            let leg = OwnChannel::TransferLeg(call.call_id.clone()).id();
            Some((target.clone(), channels.contains(&leg)))
        }
        _ => return Err("not in conversation (ringing, answering or a blind transfer)"),
    };
    let conversation = resume
        .conversation
        .as_deref()
        .and_then(|c| ConversationId::parse(c).ok())
        .ok_or("no conversation yet")?;
    let caller = ChannelId::new(resume.caller.clone());
    if remains.caller.as_ref() != Some(&caller) {
        return Err("the caller is no longer in the call's bridge");
    }
    let bridge = remains.bridge.as_ref().ok_or("the call's bridge is gone")?;
    let old_media = bridges
        .iter()
        .find(|b| &b.id == bridge)
        .and_then(|b| {
            b.channels
                .iter()
                .find(|c| {
                    is_own_channel(c) && matches!(OwnChannel::parse(c), Some(OwnChannel::Media(_)))
                })
                .cloned()
        })
        .ok_or("no media channel in the call's bridge")?;
    let did = call
        .to
        .as_deref()
        .and_then(|d| Did::parse(d).ok())
        .ok_or("no DID in the record")?;
    // An outbound call goes on with the tenant and agent its request named
    // (the route the router gave it, rebuilt); an inbound call's DID is
    // looked up again.
    let outbound = match call.direction {
        Direction::Inbound => None,
        Direction::Outbound => Some(OutboundStart {
            call_id: call.call_id.clone(),
            route: Route::outbound(
                call.tenant_id.clone(),
                call.agent_id.clone().ok_or("no agent in the record")?,
            ),
            call: Call::resumed(
                Direction::Outbound,
                call.created_at,
                call.answered_at.unwrap_or(call.created_at),
            ),
            metadata: call.metadata.clone(),
            detect_machine: None,
            published: resume.sequence,
        }),
    };
    let inbound = InboundCall {
        caller,
        channel_name: String::new(),
        did,
        caller_number: call.from.clone().unwrap_or_default(),
        outbound,
    };
    let from = Takeover {
        record: call.clone(),
        conversation,
        old_media,
        reattach: reattach.clone(),
        transfer,
    };
    Ok((inbound, from))
}
