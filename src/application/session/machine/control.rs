//! Commands from the registry and the API, blind transfers, and the end.

use super::{
    CallCore, Effect, Ended, Input,
    conversation::{AfterSpeech, Conversation},
};
use crate::{
    application::{
        ports::{calls::TransferMode, orchestrator::AgentInfo},
        session::SessionCommand,
    },
    domain::{
        TransferTarget,
        call::{CallInput, CallState, EndReason, Phase},
        events::{
            Conversation as ConversationFigures, Ended as EndedData, Escalated, Escalation,
            EventData, Providers, TransferFailure, Transferred,
        },
    },
};

impl CallCore {
    pub(super) fn on_command(&mut self, command: SessionCommand) {
        match command {
            SessionCommand::Dtmf(d) => self.on_dtmf(d),
            SessionCommand::CallerGone => {
                self.emit(Effect::ForgetCaller);
                self.end(EndReason::CallerHangup, false);
            }
            SessionCommand::ChannelLost => {
                self.emit(Effect::ForgetCaller);
                self.end(EndReason::ChannelLost, false);
            }
            SessionCommand::Hangup(EndReason::Shutdown)
                if matches!(self.conv, Conversation::Bridged) =>
            {
                // The gateway is going away, not the call: a caller talking
                // to a person is left talking. Their channels and bridge stay
                // on Asterisk (hung up there by whoever hangs up first).
                tracing::info!("shutdown: leaving the caller and the person connected");
                self.emit(Effect::LeaveBridged);
                self.end(EndReason::Shutdown, false);
            }
            SessionCommand::Hangup(reason) => self.end(reason, true),
            SessionCommand::Say(text) => {
                if self.phase() == Some(Phase::Speaking) {
                    // Said once the barge-in is complete.
                    self.barge_in(self.now.at);
                    if matches!(self.conv, Conversation::BargingIn(_)) {
                        let command = SessionCommand::Say(text);
                        self.held.push_front(Input::Command(command));
                    }
                    return;
                }
                self.say(text.into_string(), AfterSpeech::Listen);
            }
            SessionCommand::SendDtmf(digits) => {
                self.emit(Effect::SendDtmf(digits.as_str().to_owned()))
            }
            SessionCommand::Transfer { target, mode } => {
                self.emit(Effect::TellTransfer(target.clone()));
                match mode {
                    TransferMode::Blind => self.transfer(target),
                    TransferMode::Attended => {
                        // The API overrides the agent: a reply still being
                        // thought of is dropped; one being spoken is finished.
                        if self.phase() == Some(Phase::Thinking) {
                            self.abandon_speech();
                        }
                        self.transfer_attended(target);
                    }
                }
            }
            SessionCommand::TransferLeg(event) => self.on_transfer_leg(event),
            // Only the unknown-DID message waits for one, before the loop runs.
            SessionCommand::PlaybackFinished => {}
            // Only setup waits for it; a late duplicate means nothing.
            SessionCommand::MediaChannelReady => {}
            // The driver stops on it before the core sees it.
            SessionCommand::Abandon => {}
            SessionCommand::AgentIdentified(info) => self.agent_identified(info),
        }
    }

    /// The orchestrator named the conversation's agent: the record and the
    /// events from now on carry it (and its version). The same agent again
    /// writes nothing.
    fn agent_identified(&mut self, info: AgentInfo) {
        let Some(route) = self.who.route.as_mut() else {
            return;
        };
        if route.agent == info.agent_id && self.who.agent_version == info.version {
            return;
        }
        tracing::info!(agent = %info.agent_id, version = ?info.version, "the orchestrator's agent");
        route.agent = info.agent_id;
        self.who.agent_version = info.version;
        if !self.is_ended() {
            self.save();
        }
    }

    /// Blind transfer: the caller enters the transfer context at the target
    /// (a number, an extension or a name) with `continue`, and leaves the
    /// gateway. What the agent was saying stops.
    pub(super) fn transfer(&mut self, target: TransferTarget) {
        if !matches!(self.call.state(), CallState::Active { .. }) {
            return;
        }
        let data = EventData::CallEscalated(Escalated {
            target: target.clone(),
            mode: TransferMode::Blind,
            status: Escalation::Started,
        });
        if !self.transition(CallInput::TransferStarted, data) {
            return;
        }
        self.abandon_speech();
        self.timers.clear_all();
        self.emit(Effect::Continue(target.clone()));
        self.conv = Conversation::Transferring { target };
    }

    pub(super) fn continued(&mut self, result: Result<(), String>) {
        if !matches!(self.conv, Conversation::Transferring { .. }) {
            return;
        }
        let Conversation::Transferring { target } = std::mem::take(&mut self.conv) else {
            unreachable!("matched above");
        };
        match result {
            Ok(()) => {
                let data = EventData::CallTransferred(Transferred {
                    target,
                    mode: TransferMode::Blind,
                });
                self.transition(CallInput::TransferCompleted, data);
                // The caller is Asterisk's now: release our side only.
                self.emit(Effect::ForgetCaller);
                self.end(EndReason::Transferred, false);
            }
            Err(e) => {
                tracing::warn!(error = %e, %target, "transfer failed; back to the agent");
                let data = EventData::CallEscalated(Escalated {
                    target,
                    mode: TransferMode::Blind,
                    status: Escalation::Failed {
                        outcome: TransferFailure::Failed,
                        error: Some(e),
                    },
                });
                self.transition(CallInput::TransferFailed, data);
                // A caller sent on for want of an agent: nothing to go back to.
                if let Some(reason) = self.start_failure.take() {
                    return self.apologise(reason);
                }
                let text = "Sorry, I couldn't transfer you right now.".to_owned();
                self.say(text, AfterSpeech::Listen);
            }
        }
    }

    /// Ends the call once the input being handled is.
    pub(crate) fn end(&mut self, reason: EndReason, hang_up_caller: bool) {
        if self.ending.is_none() {
            self.ending = Some((reason, hang_up_caller));
        }
    }

    /// Releases everything once and publishes `call.ended` with the figures
    /// (unless an attended transfer did at the handover); `Effect::End` last.
    pub(super) fn end_if_asked(&mut self) {
        self.settle_speculation();
        let Some((reason, hang_up_caller)) = self.ending.take() else {
            return;
        };
        self.drop_speculation();
        self.held.clear();
        // Ended while the leg had not reported a flush: what was cut is not known.
        self.barge_in_reported(None);
        // A reply cut short by the end still counts: what was sent of it and its figures.
        let speaking = self.phase() == Some(Phase::Speaking);
        if let Some(speech) = self.take_speech() {
            if speaking && !speech.pieces.is_empty() {
                self.history_agent(speech.text(), None);
            }
            self.close_speech(&speech);
        }
        self.close_turn_marks();
        if std::mem::take(&mut self.stt.open) {
            self.emit(Effect::CloseStt);
        }
        self.emit(Effect::Release { hang_up_caller });
        // A call handed to a person ended as `transferred`, whoever hangs up later.
        let reason = match (&self.conv, self.call.state()) {
            (Conversation::Bridged, CallState::Ended { reason }) => reason.clone(),
            _ => {
                self.publish_ended(reason.clone());
                reason
            }
        };
        self.timers.clear_all();
        let ended = Ended {
            reason,
            latencies: std::mem::take(&mut self.log.latencies),
            barge_in_delays_ms: std::mem::take(&mut self.log.barge_in_delays_ms),
            barge_ins_resumed: self.log.resumed,
        };
        self.emit(Effect::End(ended));
        self.conv = Conversation::Ended;
    }

    /// The call's trace id, for `call.ended`.
    pub(crate) fn set_trace_id(&mut self, trace_id: Option<String>) {
        self.who.trace_id = trace_id;
    }

    /// Ends the call's lifecycle and publishes `call.ended`.
    pub(super) fn publish_ended(&mut self, reason: EndReason) {
        self.release_transcripts();
        if !self.call.state().is_terminal() {
            let _ = self
                .call
                .apply(CallInput::End(reason.clone()), self.now.wall);
        }
        self.save();
        let since = self.call.answered_at().unwrap_or(self.call.started_at());
        let duration = self
            .call
            .ended_at()
            .and_then(|e| e.duration_since(since).ok())
            .unwrap_or_default();
        let data = EventData::CallEnded(EndedData {
            reason: reason.clone(),
            duration_ms: duration.as_millis() as u64,
            answered: self.call.answered_at().is_some(),
            turns: self.call.turns(),
            conversation: Some(ConversationFigures {
                barge_ins: self.log.barge_ins,
                latency: self.log.latencies.clone(),
            }),
            providers: (!self.who.stt_names.is_empty()).then(|| Providers {
                stt_providers: self.who.stt_names.clone(),
                tts_providers: self.who.tts_names.clone(),
            }),
            trace_id: self.who.trace_id.clone(),
        });
        self.publish(data);
        self.write_history(&reason);
        tracing::info!(%reason, turns = self.call.turns(), "call ended");
    }
}
