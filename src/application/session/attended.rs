//! Attended transfer: reach a person first, then hand the caller over.
//!
//! The person's leg is originated into our Stasis app as `vg-h-{call id}`
//! (the router forwards its events as [`SessionCommand::TransferLeg`]) while
//! the agent finishes what it is saying. The caller is handed over once the
//! person answered *and* the agent's speech is over: the person joins the
//! call's bridge, then the AI leaves it (its externalMedia channel is hung
//! up, STT and TTS closed) and `call.transferred` and `call.ended` go out.
//! From then on the session only keeps the bridge: whichever party hangs up,
//! the other is hung up and the bridge destroyed. The call no longer counts
//! against the gateway's capacity (its admission permit is given back), and
//! a gateway shutting down leaves the two talking instead of cutting them off.
//!
//! Busy, no answer, a failed dial or the ring timeout: the person's leg is
//! hung up, `call.escalated` says the transfer failed and why, and the agent
//! tells the caller nobody is available; the call goes on. A caller who hangs
//! up while the person's phone rings takes the person's leg down too (it is
//! one of the call's resources).
//!
//! [`SessionCommand::TransferLeg`]: super::SessionCommand::TransferLeg

use super::{
    TransferLegEvent,
    effects::Effect,
    run::{AfterSpeech, Session},
};
use crate::{
    application::{
        dial::Unanswered,
        own_ids::OwnChannel,
        ports::{
            calls::TransferMode,
            telephony::{HangupCause, OriginateRequest},
        },
    },
    domain::{
        E164, TransferTarget,
        call::{CallInput, CallState, EndReason},
        events::{Escalated, Escalation, EventData, Transferred},
    },
};
use ari::events::DialStatus;
use std::time::Duration;
use tokio::time::Instant;

/// Past the ring timeout Asterisk itself enforces, how long we still wait for
/// its verdict before hanging the leg up ourselves.
const RING_GRACE: Duration = Duration::from_secs(5);

/// An attended transfer in progress.
#[derive(Debug)]
pub(super) struct Attended {
    target: TransferTarget,
    last_status: Option<DialStatus>,
    answered: bool,
    /// The leg will not be answered; applied once the agent is silent.
    failed: Option<(Unanswered, Option<String>)>,
}

impl Session {
    /// Starts ringing the person. The call goes to `transferring`
    /// (`call.escalated`, status `started`).
    pub(super) async fn transfer_attended(&mut self, target: TransferTarget) {
        if !matches!(self.call.state(), CallState::Active { .. }) || self.attended.is_some() {
            return;
        }
        let data = EventData::CallEscalated(Escalated {
            target: target.clone(),
            mode: TransferMode::Attended,
            status: Escalation::Started,
        });
        if !self.transition(CallInput::TransferStarted, data) {
            return;
        }
        // Nothing the caller says now is a turn.
        self.deadlines.silence = None;
        self.deadlines.endpoint = None;
        self.deadlines.final_result = None;
        self.deadlines.max_turn = None;
        self.attended = Some(Attended {
            target: target.clone(),
            last_status: None,
            answered: false,
            failed: None,
        });
        let Some(endpoint) = self.deps.config.attended_endpoint(&target) else {
            tracing::warn!(%target, "attended transfer target is neither E.164 nor configured");
            let reason = format!(
                "{:?} is not an E.164 number or a configured transfer target",
                target.as_str()
            );
            return self
                .transfer_unanswered(Unanswered::Failed, Some(reason))
                .await;
        };
        let cfg = self.deps.config.clone();
        let channel = OwnChannel::TransferLeg(self.call_id.clone()).id();
        let request = OriginateRequest {
            channel_id: channel.clone(),
            endpoint,
            // Only a number that validates is shown to the person.
            caller_id: E164::parse(&self.inbound.caller_number)
                .ok()
                .map(|n| n.to_string()),
            timeout: cfg.transfer_ring_timeout,
            app_args: vec!["transfer".into(), self.call_id.to_string()],
            variables: Default::default(),
        };
        self.res.human = Some(channel);
        self.deadlines.transfer = Some(Instant::now() + cfg.transfer_ring_timeout + RING_GRACE);
        tracing::info!(%target, "attended transfer: ringing the person");
        if let Err(e) = self.deps.telephony.originate(&request).await {
            tracing::warn!(error = %e, "attended transfer: originate refused");
            self.res.human = None;
            self.transfer_unanswered(Unanswered::Failed, Some(e.to_string()))
                .await;
        }
    }

    /// An event of the person's leg.
    pub(super) async fn on_transfer_leg(&mut self, event: TransferLegEvent) {
        if self.bridged {
            if let TransferLegEvent::Gone { .. } = event {
                // The person hung up: the caller goes too.
                self.res.human = None;
                self.end(EndReason::Transferred, true);
            }
            return;
        }
        let Some(t) = &mut self.attended else {
            return;
        };
        match event {
            TransferLegEvent::Dial(DialStatus::Started) => {}
            TransferLegEvent::Dial(status) => t.last_status = Some(status),
            TransferLegEvent::Answered => {
                tracing::info!("attended transfer: the person answered");
                t.answered = true;
                self.deadlines.transfer = None;
                self.progress_transfer().await;
            }
            TransferLegEvent::Gone { cause } => {
                self.res.human = None;
                let why = Unanswered::from_dial(t.last_status.as_ref(), cause);
                self.transfer_unanswered(why, None).await;
            }
        }
    }

    /// The person's phone rang past the timeout and Asterisk said nothing.
    pub(super) async fn transfer_ring_timeout(&mut self) {
        if self.attended.is_some() {
            self.transfer_unanswered(Unanswered::NoAnswer, None).await;
        }
    }

    /// The leg will not be answered: hang it up now, tell the caller once the
    /// agent is silent.
    async fn transfer_unanswered(&mut self, why: Unanswered, error: Option<String>) {
        self.deadlines.transfer = None;
        if let Some(ch) = self.res.human.take() {
            let _ = self.deps.telephony.hangup(&ch, HangupCause::Normal).await;
        }
        // The first verdict stands (our ring timeout, then the leg's end).
        if let Some(t) = &mut self.attended
            && t.failed.is_none()
        {
            t.failed = Some((why, error));
        }
        self.progress_transfer().await;
    }

    /// Moves the transfer on once the agent's speech is over: hand over, or
    /// go back to the agent.
    pub(super) async fn progress_transfer(&mut self) {
        let idle = self.tts.is_none() && self.reply.is_none();
        let Some(t) = &mut self.attended else {
            return;
        };
        if !idle {
            return;
        }
        if let Some((why, error)) = t.failed.take() {
            let target = t.target.clone();
            self.attended = None;
            tracing::info!(
                outcome = why.label(),
                "attended transfer failed; back to the agent"
            );
            let data = EventData::CallEscalated(Escalated {
                target,
                mode: TransferMode::Attended,
                status: Escalation::Failed {
                    outcome: why.into(),
                    error,
                },
            });
            self.transition(CallInput::TransferFailed, data);
            let text = self.deps.config.transfer_unavailable_text.clone();
            self.say(text, AfterSpeech::Listen).await;
        } else if t.answered {
            self.hand_over().await;
        }
    }

    /// The person answered and the agent is silent: connect them, the AI leaves.
    async fn hand_over(&mut self) {
        let Some(t) = self.attended.take() else {
            return;
        };
        let telephony = self.deps.telephony.clone();
        let joined = match (&self.res.bridge, &self.res.human) {
            (Some(bridge), Some(human)) => telephony
                .add_to_bridge(bridge, human)
                .await
                .map_err(|e| e.to_string()),
            _ => Err("no bridge or person leg".to_owned()),
        };
        if let Err(e) = joined {
            tracing::warn!(error = %e, "attended transfer: cannot connect the person");
            self.attended = Some(t);
            // Boxed: going back to the agent may lead here again, one day.
            return Box::pin(self.transfer_unanswered(Unanswered::Failed, Some(e))).await;
        }
        // The AI leaves the bridge: its leg, its media channel, its streams.
        if let Some(s) = &mut self.stt {
            s.cancel();
        }
        self.stt = None;
        self.tts = None;
        self.reply = None;
        self.deadlines = Default::default();
        if let Some(leg) = self.res.leg.take() {
            let _ = leg.try_send(crate::application::ports::media::MediaCommand::Close);
        }
        self.audio_backlog.clear();
        self.leg_events = None;
        if let Some(m) = self.res.media_channel.take()
            && let Err(e) = telephony.hangup(&m, HangupCause::Normal).await
        {
            tracing::debug!(error = %e, "media channel already gone at the handover");
        }
        let data = EventData::CallTransferred(Transferred {
            target: t.target,
            mode: TransferMode::Attended,
        });
        self.transition(CallInput::TransferCompleted, data);
        self.publish_ended(EndReason::Transferred);
        self.bridged = true;
        if let Some(permit) = self.permit.take() {
            self.effects.submit(Effect::Release(permit));
        }
        tracing::info!("attended transfer: caller and person connected");
    }
}
