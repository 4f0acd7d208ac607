//! Placing outbound calls and following them until they answer or fail.
//!
//! A failed originate still answers 200: busy, no answer and congestion
//! arrive only as events, which [`Dialling::step`] reads. The answer is the
//! channel's `StasisStart` (it enters Stasis `Up`).

use super::{
    CallRouter, Outcome, Snapshot,
    classify::Progress,
    ringing_out::{Dialling, Step},
};
use crate::{
    application::{
        admission::{AdmissionError, CallPermit},
        own_ids::OwnChannel,
        ports::{
            calls::{CallSummary, ControlError, OriginateCall},
            directory::Route,
            history::CallRecord,
            telephony::OriginateRequest,
        },
        session::{InboundCall, OutboundStart, spawn_inbound, summary},
    },
    domain::{
        AgentId, CallId, Did, E164,
        call::{Direction, EndReason},
        events::{Answered, CallContext, Ended, EventData, EventType, Started},
    },
};
use ari::ChannelId;
use std::time::SystemTime;

/// The type and data of an event the router publishes for an outbound call
/// not yet handed to its session: no channel yet, the agent on `call.started`.
fn outbound_event(data: EventData, agent: Option<AgentId>) -> (EventType, serde_json::Value) {
    let context = CallContext {
        direction: Direction::Outbound,
        channel_id: None,
        agent_id: agent,
    };
    (data.event_type(), data.to_json(&context))
}

/// An outbound call placed and not answered yet.
#[derive(Debug)]
pub(super) struct Pending {
    call_id: CallId,
    dial: Dialling,
    request: OriginateCall,
    /// The request's agent, or the tenant's default.
    agent: AgentId,
    permit: CallPermit,
    /// When Asterisk accepted the originate: a snapshot asked for earlier
    /// cannot tell whether its channel is gone.
    placed_at: Option<SystemTime>,
    /// The call's events published so far (the last one's `sequence`).
    published: u64,
}

/// Follow-ups the router sends itself.
#[derive(Debug)]
pub(super) enum Internal {
    /// Asterisk refused the originate request itself (HTTP 4xx/5xx).
    OriginateFailed {
        /// The call's channel.
        channel: ChannelId,
        /// What Asterisk said.
        error: String,
    },
    /// Asterisk accepted the originate: the channel exists from `at`.
    Originated {
        /// The call's channel.
        channel: ChannelId,
        /// When the answer came.
        at: SystemTime,
    },
}

impl Pending {
    pub(super) fn call_id(&self) -> &CallId {
        &self.call_id
    }
}

impl CallRouter {
    /// Places an outbound call. Returns its record in state `originating`;
    /// what happens next arrives as events.
    pub async fn originate(&mut self, request: OriginateCall) -> Result<CallSummary, ControlError> {
        self.check_dialing(&request).await?;
        let agent = self.agent_for(&request).await?;
        let permit = self
            .admission
            .try_admit_for(&request.tenant)
            .map_err(|e| match e {
                AdmissionError::Draining => ControlError::Draining,
                full => ControlError::AtCapacity(full.to_string()),
            })?;
        let call_id =
            CallId::parse(uuid::Uuid::new_v4().to_string()).expect("a UUID is a valid call id");
        let channel = OwnChannel::Outbound(call_id.clone()).id();
        // Only a validated E.164 number goes into the template: no dial string,
        // technology or variable can ride in on it.
        let endpoint = self.deps.config.outbound_endpoint.dial(&request.to);
        let dial = Dialling::originate(super::wall_clock());
        let started = Started::Outbound {
            to: request.to.clone(),
            from: request.from.clone(),
            metadata: request.metadata.clone(),
        };
        let (t, data) = outbound_event(EventData::CallStarted(started), Some(agent.clone()));
        self.publish(&call_id, &request.tenant, t, data, 1).await;
        let originate = OriginateRequest {
            channel_id: channel.clone(),
            endpoint,
            caller_id: request.from.as_ref().map(|f| f.to_string()),
            timeout: request.ring_timeout,
            app_args: vec!["outbound".into(), call_id.to_string()],
            variables: Default::default(),
        };
        let (telephony, internal, ch) = (
            self.deps.telephony.clone(),
            self.internal_tx.clone(),
            channel.clone(),
        );
        tokio::spawn(async move {
            let msg = match telephony.originate(&originate).await {
                Ok(()) => Internal::Originated {
                    channel: ch,
                    at: super::wall_clock(),
                },
                Err(e) => Internal::OriginateFailed {
                    channel: ch,
                    error: e.to_string(),
                },
            };
            let _ = internal.send(msg);
        });
        let pending = Pending {
            call_id,
            dial,
            request,
            agent,
            permit,
            placed_at: None,
            published: 1,
        };
        let record = self.record(&pending);
        self.save(record.clone()).await;
        self.pending.insert(channel, pending);
        Ok(record)
    }

    /// Takes over an outbound call another instance placed and that still
    /// rings out (its channel is in `channels`): followed from here as if
    /// placed here, with the agent, metadata and screening of its request
    /// and its events numbered on from its record's. `Err`: why it cannot
    /// be (it is then ended as a leftover).
    pub(super) fn ringing_taken_over(
        &mut self,
        call: &CallSummary,
        channels: &[ChannelId],
    ) -> Result<(), String> {
        let channel = OwnChannel::Outbound(call.call_id.clone()).id();
        if !channels.contains(&channel) {
            return Err("its channel is gone".into());
        }
        let resume = call
            .resume
            .as_ref()
            .ok_or("no takeover data in the record")?;
        let to = (call.to.as_deref())
            .and_then(|t| E164::parse(t).ok())
            .ok_or("no callee number in the record")?;
        let from = match call.from.as_deref() {
            None | Some("") => None,
            Some(f) => Some(E164::parse(f).map_err(|e| format!("caller id in the record: {e}"))?),
        };
        let agent = call.agent_id.clone().ok_or("no agent in the record")?;
        let permit = (self.admission)
            .try_admit_for(&call.tenant_id)
            .map_err(|e| e.to_string())?;
        let request = OriginateCall {
            tenant: call.tenant_id.clone(),
            to,
            from,
            agent: Some(agent.clone()),
            // Asterisk times the ringing out: it was given at the originate.
            ring_timeout: std::time::Duration::ZERO,
            metadata: call.metadata.clone(),
            detect_machine: resume.screen.clone(),
        };
        let pending = Pending {
            call_id: call.call_id.clone(),
            dial: Dialling::taken_over(call.created_at, call.state == "ringing"),
            request,
            agent,
            permit,
            // Placed before any snapshot this instance asks for.
            placed_at: Some(call.created_at),
            published: resume.sequence,
        };
        tracing::warn!(call_id = %call.call_id, state = %call.state, "outbound call ringing out taken over from another instance");
        self.pending.insert(channel, pending);
        Ok(())
    }

    /// The tenant may dial `to` and present `from` (a configured caller id or
    /// a DID routed to the tenant): the toll-fraud and spoofing guard.
    async fn check_dialing(&self, request: &OriginateCall) -> Result<(), ControlError> {
        let policy = &self.deps.config.dialing;
        let tenant = &request.tenant;
        policy
            .check_api(tenant, &request.to)
            .map_err(|e| ControlError::NotAllowed(format!("dialing.api_allow: {e}")))?;
        let Some(from) = &request.from else {
            return Ok(());
        };
        if policy.is_listed_caller_id(tenant, from) {
            return Ok(());
        }
        let did = crate::domain::Did::parse(from.as_str())
            .map_err(|e| ControlError::Invalid(e.to_string()))?;
        let owner = self
            .deps
            .directory
            .owner(&did)
            .await
            .map_err(|e| ControlError::Unavailable(crate::application::ports::Cause::new(e)))?;
        match owner {
            Some(owner) if &owner == tenant => Ok(()),
            _ => Err(ControlError::NotAllowed(format!(
                "from {} is not one of tenant {tenant}'s numbers: list it in \
                 dialing.tenants.{tenant}.caller_ids or route it to the tenant as a DID",
                from.redacted()
            ))),
        }
    }

    /// The agent of an outbound call: the one asked for, or the tenant's
    /// default (its routes name exactly one agent).
    async fn agent_for(&self, request: &OriginateCall) -> Result<AgentId, ControlError> {
        if let Some(agent) = &request.agent {
            return Ok(agent.clone());
        }
        let tenant = &request.tenant;
        let mut agents = self
            .deps
            .directory
            .agents(tenant)
            .await
            .map_err(|e| ControlError::Unavailable(crate::application::ports::Cause::new(e)))?;
        match agents.len() {
            1 => Ok(agents.remove(0)),
            0 => Err(ControlError::Invalid(format!(
                "agent_id is required: tenant {tenant} has no route naming an agent to default to"
            ))),
            _ => Err(ControlError::Invalid(format!(
                "agent_id is required: tenant {tenant} has {} agents ({})",
                agents.len(),
                agents
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// Handles a follow-up the router sent itself.
    pub(super) async fn on_internal(&mut self, msg: Internal) -> Option<Outcome> {
        match msg {
            Internal::OriginateFailed { channel, error } => {
                tracing::warn!(%channel, %error, "originate refused by Asterisk");
                self.on_outbound(&channel, Progress::OriginateRefused { error })
                    .await
            }
            Internal::Originated { channel, at } => {
                if let Some(p) = self.pending.get_mut(&channel) {
                    p.placed_at = Some(at);
                }
                None
            }
        }
    }

    /// An outbound call not answered yet moved on: decide ([`Dialling::step`]), then act.
    pub(super) async fn on_outbound(
        &mut self,
        channel: &ChannelId,
        progress: Progress,
    ) -> Option<Outcome> {
        let p = self.pending.get_mut(channel)?;
        match p.dial.step(&progress, super::wall_clock()) {
            Step::Nothing => None,
            Step::Ringing => {
                self.ringing(channel).await;
                None
            }
            Step::Answered => {
                let Progress::Answered { channel_name } = progress else {
                    unreachable!("only an answer answers")
                };
                self.answered(channel, &channel_name).await
            }
            Step::Ended(reason) => self.fail(channel, reason).await,
            Step::Dropped => {
                self.pending.remove(channel);
                None
            }
        }
    }

    async fn ringing(&mut self, channel: &ChannelId) {
        if let Some(p) = self.pending.get_mut(channel) {
            p.published += 1;
            let (call_id, tenant, n) = (p.call_id.clone(), p.request.tenant.clone(), p.published);
            // The record first: it covers the event's number.
            let record = self.record(self.pending.get(channel).expect("present"));
            self.save(record).await;
            let (t, data) = outbound_event(EventData::CallRinging {}, None);
            self.publish(&call_id, &tenant, t, data, n).await;
        }
    }

    /// `call.answered`'s data for an outbound call's `route`: what its
    /// session will use (the transport, the providers of its speech).
    fn answered_data(&self, route: &Route) -> Answered {
        let cfg = &self.deps.config;
        let (transport, _) = route.media(cfg.transport, cfg.wire_format);
        let (stt_providers, tts_providers) = self
            .deps
            .speech
            .as_ref()
            .map(|c| crate::application::session::providers::resolve(c.as_ref(), route).names())
            .unwrap_or_default();
        Answered {
            transport: Some(transport.as_str()),
            stt_providers,
            tts_providers,
        }
    }

    async fn answered(&mut self, channel: &ChannelId, name: &str) -> Option<Outcome> {
        let p = self.pending.remove(channel)?;
        let route = Route::outbound(p.request.tenant.clone(), p.agent.clone());
        let (t, data) = outbound_event(EventData::CallAnswered(self.answered_data(&route)), None);
        let published = p.published + 1;
        self.publish(&p.call_id, &p.request.tenant, t, data, published)
            .await;
        let party = InboundCall {
            caller: channel.clone(),
            channel_name: name.to_owned(),
            did: Did::parse(p.request.to.as_str()).expect("an E.164 number is a DID"),
            caller_number: p
                .request
                .from
                .as_ref()
                .map(|f| f.to_string())
                .unwrap_or_default(),
            outbound: Some(OutboundStart {
                call_id: p.call_id.clone(),
                route,
                call: p.dial.call.clone(),
                metadata: p.request.metadata.clone(),
                detect_machine: p.request.detect_machine.clone(),
                published,
            }),
        };
        let handle = spawn_inbound(self.deps.clone(), party, p.permit, self.ended_tx.clone());
        self.calls.insert(channel.clone(), handle);
        Some(Outcome::Started {
            channel: channel.clone(),
        })
    }

    /// After a reconnect: a call ringing out whose channel is gone ended
    /// while the events were away, one whose channel is up was answered.
    pub(super) async fn reconcile_ringing(&mut self, snapshot: &Snapshot<'_>) -> Vec<Outcome> {
        // Only a call Asterisk had accepted before the snapshot was asked
        // for can be missing from it because it ended.
        let settled: Vec<ChannelId> = self
            .pending
            .iter()
            .filter(|(_, p)| p.placed_at.is_some_and(|t| t < snapshot.requested_at))
            .map(|(c, _)| c.clone())
            .collect();
        let mut outcomes = Vec::new();
        for channel in settled {
            let progress =
                if let Some((_, name)) = snapshot.answered.iter().find(|(c, _)| *c == channel) {
                    Progress::Answered {
                        channel_name: name.clone(),
                    }
                } else if !snapshot.channels.contains(&channel) {
                    // Its cause went with the events: the last Dial status decides.
                    Progress::Gone { cause: 0 }
                } else {
                    continue;
                };
            tracing::info!(%channel, ?progress, "outbound call moved on while ARI events were away");
            outcomes.extend(self.on_outbound(&channel, progress).await);
        }
        outcomes
    }

    /// The events stopped while calls were still ringing out: nothing will
    /// say how they end, so each is hung up and ends now (`channel_lost`),
    /// giving back its admission slot and publishing its `call.ended`.
    pub(super) async fn abandon_ringing(&mut self) -> Vec<Outcome> {
        let channels: Vec<ChannelId> = self.pending.keys().cloned().collect();
        let mut outcomes = Vec::new();
        for channel in channels {
            tracing::warn!(%channel, "ARI events stopped while the call rang out: ending it");
            let _ = self
                .deps
                .telephony
                .hangup(
                    &channel,
                    crate::application::ports::telephony::HangupCause::Normal,
                )
                .await;
            outcomes.extend(self.fail(&channel, EndReason::ChannelLost).await);
        }
        outcomes
    }

    /// An outbound call that will not be answered: busy, no answer, failed.
    async fn fail(&mut self, channel: &ChannelId, reason: EndReason) -> Option<Outcome> {
        let p = self.pending.remove(channel)?;
        let record = self.record(&p);
        self.save(record).await;
        let ended = Ended {
            reason: reason.clone(),
            duration_ms: 0,
            answered: false,
            turns: 0,
            conversation: None,
            providers: None,
            trace_id: None,
        };
        let (t, data) = outbound_event(EventData::CallEnded(ended), None);
        self.publish(&p.call_id, &p.request.tenant, t, data, p.published + 1)
            .await;
        self.write_history(&p, &reason);
        drop(p.permit);
        Some(Outcome::Ended {
            channel: channel.clone(),
            reason,
            latencies: Vec::new(),
            barge_in_delays_ms: Vec::new(),
            barge_ins_resumed: [0; 3],
        })
    }

    /// The ringing call's record; it keeps the events' numbering (a call
    /// ended by another process after a crash goes on from it).
    fn record(&self, p: &Pending) -> CallSummary {
        let record = summary(
            &p.call_id,
            &p.request.tenant,
            &p.dial.call,
            p.request.from.as_ref().map(|f| f.to_string()),
            Some(p.request.to.to_string()),
            Some((p.agent.clone(), None)),
            &p.request.metadata,
        );
        CallSummary {
            resume: Some(crate::application::ports::calls::Resume {
                caller: OwnChannel::Outbound(p.call_id.clone()).id().to_string(),
                conversation: None,
                sequence: p.published,
                screen: p.request.detect_machine.clone(),
                transfer: None,
            }),
            ..record
        }
    }

    /// The unanswered call's history record. Written off the router's loop:
    /// a slow database must not hold up every other call's events.
    fn write_history(&self, p: &Pending, reason: &EndReason) {
        let record = CallRecord {
            call_id: p.call_id.clone(),
            tenant: p.request.tenant.clone(),
            direction: Direction::Outbound,
            from: p.request.from.as_ref().map(|f| f.to_string()),
            to: Some(p.request.to.to_string()),
            started_at: p.dial.call.started_at(),
            answered_at: None,
            ended_at: p.dial.call.ended_at().unwrap_or_else(super::wall_clock),
            reason: reason.clone(),
            turns: Vec::new(),
        };
        let history = self.deps.history.clone();
        tokio::spawn(async move {
            if let Err(e) = history.record(record).await {
                tracing::warn!(error = %e, "call history not written");
            }
        });
    }

    pub(super) async fn save(&self, record: CallSummary) {
        if let Err(e) = self.deps.store.put(record).await {
            tracing::warn!(error = %e, "call record not stored");
        }
    }
}
