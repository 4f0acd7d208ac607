//! Calls this instance owned when its process died (SIGKILL, a crash, the
//! host lost): their records still name this instance as live, and what is
//! left of them on Asterisk (the caller's channel and the media channel in the
//! call's `vg-b-` bridge) sits in the Stasis app with nobody driving it.
//!
//! At the first resync after the process starts, the store's live calls of
//! this instance that no session holds are ended: their channels are hung up
//! and their bridge destroyed, `call.ended` is published (reason
//! `gateway_restart`), the record is marked ended and the history written.
//! Admission and tenant slots were this process's memory and died with it.
//! A call with a person's leg in its bridge is left to the handed-over
//! watch (`handed_over`), which ends it when a party leaves.

use super::{CallRouter, Outcome};
use crate::{
    application::{
        own_ids::{OwnChannel, bridge_id, is_own_channel},
        ports::{
            calls::CallSummary, events::CallEvent, history::CallRecord, telephony::HangupCause,
        },
        session::{SessionDeps, ignore_gone},
    },
    domain::{
        CallId,
        call::EndReason,
        events::{CallContext, Ended, EventData},
    },
};
use ari::{Bridge, BridgeId, ChannelId};
use std::{collections::HashSet, time::SystemTime};

/// Records read at most at one start.
const MAX_LEFTOVERS: usize = 100_000;

/// What Asterisk still has of one call.
#[derive(Debug, Default)]
pub(super) struct Remains {
    pub(super) bridge: Option<BridgeId>,
    pub(super) channels: Vec<ChannelId>,
    /// The caller's (or callee's) channel: the bridge member not ours.
    pub(super) caller: Option<ChannelId>,
    pub(super) handed_over: bool,
}

impl CallRouter {
    /// Ends the calls an earlier process of this instance left live.
    /// Returns their outcomes, or `None` when the store could not say (tried
    /// again at the next resync).
    pub(super) async fn end_leftovers(
        &mut self,
        channels: &[ChannelId],
        bridges: &[Bridge],
    ) -> Option<Vec<Outcome>> {
        let owned = match self.deps.store.owned_live(MAX_LEFTOVERS).await {
            Ok(owned) => owned,
            Err(e) => {
                tracing::warn!(error = %e, "calls left by an earlier process not read: trying at the next resync");
                return None;
            }
        };
        let held: HashSet<&CallId> = self
            .calls
            .handles()
            .map(|h| &h.call_id)
            .chain(self.pending.values().map(|p| p.call_id()))
            .collect();
        let mut ended = Vec::new();
        for call in owned.into_iter().filter(|c| !held.contains(&c.call_id)) {
            let remains = remains(&call.call_id, channels, bridges);
            if remains.handed_over {
                continue;
            }
            tracing::warn!(call_id = %call.call_id, channels = remains.channels.len(), "ending a call an earlier process left live");
            ended.push(Outcome::Ended {
                // The caller's channel when Asterisk still had it, else the
                // call's media channel: what the call held there.
                channel: (remains.caller.clone())
                    .unwrap_or_else(|| OwnChannel::Media(call.call_id.clone()).id()),
                reason: EndReason::GatewayRestart,
                latencies: Vec::new(),
                barge_in_delays_ms: Vec::new(),
                barge_ins_resumed: [0; 3],
            });
            tokio::spawn(end_leftover(self.deps.clone(), call, remains));
        }
        Some(ended)
    }
}

/// Finds the call's bridge and channels in the snapshot.
pub(super) fn remains(call: &CallId, channels: &[ChannelId], bridges: &[Bridge]) -> Remains {
    let mut r = Remains::default();
    let bid = bridge_id(call);
    if let Some(b) = bridges.iter().find(|b| b.id == bid) {
        r.bridge = Some(b.id.clone());
        // The caller, or the callee an outbound call placed (`vg-o-`).
        let outbound = OwnChannel::Outbound(call.clone()).id();
        r.caller = (b.channels.iter())
            .find(|c| !is_own_channel(c) || **c == outbound)
            .cloned();
        r.handed_over = b
            .channels
            .iter()
            .any(|c| matches!(OwnChannel::parse(c), Some(OwnChannel::TransferLeg(_))));
        r.channels.extend(b.channels.iter().cloned());
    }
    let ours = channels
        .iter()
        .filter(|c| OwnChannel::parse(c).is_some_and(|o| o.call() == call));
    for c in ours {
        if !r.channels.contains(c) {
            r.channels.push(c.clone());
        }
    }
    r
}

/// Hangs up what is left, then publishes, stores and records the end.
pub(super) async fn end_leftover(deps: SessionDeps, call: CallSummary, remains: Remains) {
    for c in &remains.channels {
        ignore_gone(
            "hang up a call left by an earlier process",
            deps.telephony.hangup(c, HangupCause::Normal).await,
        );
    }
    if let Some(b) = &remains.bridge {
        ignore_gone(
            "destroy a bridge left by an earlier process",
            deps.telephony.destroy_bridge(b).await,
        );
    }
    let now = super::wall_clock();
    let reason = EndReason::GatewayRestart;
    let event = ended_event(&call, remains.caller.as_ref(), now);
    if let Err(e) = deps.events.publish(event).await {
        tracing::error!(call_id = %call.call_id, error = %e, "call.ended of a leftover call not published");
    }
    let record = history_record(&call, &reason, now);
    let mut summary = call;
    summary.state = "ended".into();
    summary.ended_at = Some(now);
    summary.end_reason = Some(reason.label());
    if let Some(r) = summary.resume.as_mut() {
        r.sequence += 1;
    }
    if let Err(e) = deps.store.put(summary).await {
        tracing::warn!(error = %e, "call record not stored");
    }
    if let Err(e) = deps.history.record(record).await {
        tracing::warn!(error = %e, "call history not written");
    }
}

/// `call.ended` of a call whose turns died with the process: none counted;
/// numbered after the last event its record covers.
fn ended_event(call: &CallSummary, caller: Option<&ChannelId>, now: SystemTime) -> CallEvent {
    let since = call.answered_at.unwrap_or(call.created_at);
    let data = EventData::CallEnded(Ended {
        reason: EndReason::GatewayRestart,
        duration_ms: now.duration_since(since).unwrap_or_default().as_millis() as u64,
        answered: call.answered_at.is_some(),
        turns: 0,
        conversation: None,
        providers: None,
        trace_id: None,
    });
    let context = CallContext {
        direction: call.direction,
        channel_id: caller.map(|c| c.to_string()),
        agent_id: call.agent_id.clone(),
    };
    let published = call.resume.as_ref().map_or(0, |r| r.sequence);
    CallEvent::new(
        data.event_type(),
        call.call_id.clone(),
        call.tenant_id.clone(),
        now,
        data.to_json(&context),
    )
    .numbered(published + 1)
}

fn history_record(call: &CallSummary, reason: &EndReason, now: SystemTime) -> CallRecord {
    CallRecord {
        call_id: call.call_id.clone(),
        tenant: call.tenant_id.clone(),
        direction: call.direction,
        from: call.from.clone(),
        to: call.to.clone(),
        started_at: call.created_at,
        answered_at: call.answered_at,
        ended_at: now,
        reason: reason.clone(),
        turns: Vec::new(),
    }
}
