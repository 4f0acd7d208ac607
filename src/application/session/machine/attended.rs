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
//! [`SessionCommand::TransferLeg`]: crate::application::session::SessionCommand::TransferLeg

use super::{
    CallCore, Effect,
    conversation::{AfterSpeech, Attended, Conversation},
    timers::Timer,
};
use crate::{
    application::{
        dial::Unanswered,
        own_ids::OwnChannel,
        ports::{calls::TransferMode, telephony::OriginateRequest},
        session::TransferLegEvent,
    },
    domain::{
        E164, TransferTarget,
        call::{CallInput, CallState, EndReason},
        events::{Escalated, Escalation, EventData, Transferred},
    },
};
use ari::events::DialStatus;
use std::time::Duration;

/// Past the ring timeout Asterisk itself enforces, how long we still wait for
/// its verdict before hanging the leg up ourselves.
const RING_GRACE: Duration = Duration::from_secs(5);

impl CallCore {
    /// Starts ringing the person. The call goes to `transferring`
    /// (`call.escalated`, status `started`).
    pub(super) fn transfer_attended(&mut self, target: TransferTarget) {
        let active = matches!(self.call.state(), CallState::Active { .. });
        if !active || matches!(self.conv, Conversation::Attended(_)) {
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
        for t in [
            Timer::Silence,
            Timer::Endpoint,
            Timer::FinalResult,
            Timer::MaxTurn,
        ] {
            self.timers.clear(t);
        }
        let speech = self.take_speech();
        self.conv = Conversation::Attended(Attended {
            target: target.clone(),
            last_status: None,
            answered: false,
            failed: None,
            speech,
            joining: false,
        });
        // Again, now with the target: what another instance needs to
        // follow the person's leg on (`[ha]`).
        self.save();
        let Some(endpoint) = self.cfg.attended_endpoint(&target) else {
            tracing::warn!(%target, "attended transfer target is neither E.164 nor configured");
            let reason = format!(
                "{:?} is not an E.164 number or a configured transfer target",
                target.as_str()
            );
            return self.transfer_unanswered(Unanswered::Failed, Some(reason));
        };
        let request = OriginateRequest {
            channel_id: OwnChannel::TransferLeg(self.who.call_id.clone()).id(),
            endpoint,
            // Only a number that validates is shown to the person.
            caller_id: E164::parse(&self.who.inbound.caller_number)
                .ok()
                .map(|n| n.to_string()),
            timeout: self.cfg.transfer_ring_timeout,
            app_args: vec!["transfer".into(), self.who.call_id.to_string()],
            variables: Default::default(),
        };
        let ring = self.now.at + self.cfg.transfer_ring_timeout + RING_GRACE;
        self.timers.set(Timer::Ring, ring);
        tracing::info!(%target, "attended transfer: ringing the person");
        self.emit(Effect::Originate(request));
    }

    /// Taken over while the person's phone rang (`[ha]`): the call goes on
    /// in `transferring` without a word to anyone (`call.escalated` went out
    /// from the instance that began the transfer). `leg_rings`: the person's
    /// leg is still there, followed from here under a full ring timeout;
    /// else it ended while no instance held the call, and the transfer
    /// failed: the agent tells the caller and the call goes on.
    pub(crate) fn resume_transfer(&mut self, target: TransferTarget, leg_rings: bool) {
        self.stt.open = true;
        // Applied, not published: their events went out before.
        for input in [
            CallInput::Converse { greeting: false },
            CallInput::TransferStarted,
        ] {
            if let Err(e) = self.call.apply(input, self.now.wall) {
                tracing::warn!(error = %e, "taken over in a transfer: ignored transition");
            }
        }
        self.conv = Conversation::Attended(Attended {
            target,
            last_status: None,
            answered: false,
            failed: None,
            speech: None,
            joining: false,
        });
        self.save();
        if leg_rings {
            let ring = self.now.at + self.cfg.transfer_ring_timeout + RING_GRACE;
            self.timers.set(Timer::Ring, ring);
            tracing::info!("attended transfer taken over: the person's phone rings on");
        } else {
            let why = "the person's leg ended while no instance held the call".to_owned();
            self.transfer_unanswered(Unanswered::Failed, Some(why));
        }
    }

    pub(super) fn originate_failed(&mut self, error: String) {
        if matches!(self.conv, Conversation::Attended(_)) {
            tracing::warn!(%error, "attended transfer: originate refused");
            self.transfer_unanswered(Unanswered::Failed, Some(error));
        }
    }

    /// An event of the person's leg.
    pub(super) fn on_transfer_leg(&mut self, event: TransferLegEvent) {
        if matches!(self.conv, Conversation::Bridged) {
            if let TransferLegEvent::Gone { .. } = event {
                // The person hung up: the caller goes too.
                self.emit(Effect::ForgetPerson);
                self.end(EndReason::Transferred, true);
            }
            return;
        }
        let Conversation::Attended(t) = &mut self.conv else {
            return;
        };
        match event {
            TransferLegEvent::Dial(DialStatus::Started) => {}
            TransferLegEvent::Dial(status) => t.last_status = Some(status),
            TransferLegEvent::Answered => {
                tracing::info!("attended transfer: the person answered");
                t.answered = true;
                self.timers.clear(Timer::Ring);
                self.progress_transfer();
            }
            TransferLegEvent::Gone { cause } => {
                let why = Unanswered::from_dial(t.last_status.as_ref(), cause);
                self.emit(Effect::ForgetPerson);
                self.transfer_unanswered(why, None);
            }
        }
    }

    /// The person's phone rang past the timeout and Asterisk said nothing.
    pub(super) fn transfer_ring_timeout(&mut self) {
        if matches!(self.conv, Conversation::Attended(_)) {
            self.transfer_unanswered(Unanswered::NoAnswer, None);
        }
    }

    /// The leg will not be answered: hang it up now, tell the caller once the
    /// agent is silent.
    fn transfer_unanswered(&mut self, why: Unanswered, error: Option<String>) {
        self.timers.clear(Timer::Ring);
        self.emit(Effect::HangUpPerson);
        // The first verdict stands (our ring timeout, then the leg's end).
        if let Conversation::Attended(t) = &mut self.conv
            && t.failed.is_none()
        {
            t.failed = Some((why, error));
        }
        self.progress_transfer();
    }

    /// Moves the transfer on once the agent's speech is over: hand over, or
    /// go back to the agent.
    pub(super) fn progress_transfer(&mut self) {
        let Conversation::Attended(t) = &mut self.conv else {
            return;
        };
        if t.speech.is_some() || t.joining {
            return;
        }
        if let Some((why, error)) = t.failed.take() {
            let target = t.target.clone();
            tracing::info!(
                outcome = why.label(),
                "attended transfer failed; back to the agent"
            );
            self.conv = Conversation::Setup;
            let data = EventData::CallEscalated(Escalated {
                target,
                mode: TransferMode::Attended,
                status: Escalation::Failed {
                    outcome: why.into(),
                    error,
                },
            });
            self.transition(CallInput::TransferFailed, data);
            let text = self.cfg.transfer_unavailable_text.clone();
            self.say(text, AfterSpeech::Listen);
        } else if t.answered {
            // The person answered and the agent is silent: connect them.
            t.joining = true;
            self.emit(Effect::JoinPerson);
        }
    }

    /// The person joined the bridge (or could not): the AI leaves, or the
    /// transfer failed.
    pub(super) fn person_joined(&mut self, result: Result<(), String>) {
        let Conversation::Attended(t) = &mut self.conv else {
            return;
        };
        t.joining = false;
        if let Err(e) = result {
            tracing::warn!(error = %e, "attended transfer: cannot connect the person");
            return self.transfer_unanswered(Unanswered::Failed, Some(e));
        }
        let target = t.target.clone();
        // The AI leaves the bridge: its leg, its media channel, its streams.
        if std::mem::take(&mut self.stt.open) {
            self.emit(Effect::CloseStt);
        }
        self.timers.clear_all();
        self.emit(Effect::LeaveMedia);
        let data = EventData::CallTransferred(Transferred {
            target,
            mode: TransferMode::Attended,
        });
        self.transition(CallInput::TransferCompleted, data);
        self.publish_ended(EndReason::Transferred);
        self.conv = Conversation::Bridged;
        self.emit(Effect::HandedOver);
        tracing::info!("attended transfer: caller and person connected");
    }
}
