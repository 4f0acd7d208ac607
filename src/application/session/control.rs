//! Commands from the registry and the API, transfers, and the end of the call.

use super::{
    SessionCommand, SessionEnded,
    run::{AfterSpeech, Held, Session},
};
use crate::{
    application::ports::calls::TransferMode,
    domain::{
        TransferTarget,
        call::{CallInput, CallState, EndReason, Phase},
        events::{
            Conversation, Ended, Escalated, Escalation, EventData, Providers, TransferFailure,
            Transferred,
        },
    },
};

impl Session {
    pub(super) async fn on_command(&mut self, command: SessionCommand) {
        match command {
            SessionCommand::Dtmf(d) => self.on_dtmf(d).await,
            SessionCommand::CallerGone => {
                self.res.caller = None;
                self.end(EndReason::CallerHangup, false);
            }
            SessionCommand::ChannelLost => {
                self.res.caller = None;
                self.end(EndReason::ChannelLost, false);
            }
            SessionCommand::Hangup(EndReason::Shutdown) if self.bridged => {
                // The gateway is going away, not the call: a caller talking
                // to a person is left talking. Their channels and bridge stay
                // on Asterisk (hung up there by whoever hangs up first).
                tracing::info!("shutdown: leaving the caller and the person connected");
                self.res.leave_bridged();
                self.end(EndReason::Shutdown, false);
            }
            SessionCommand::Hangup(reason) => self.end(reason, true),
            SessionCommand::Say(text) => {
                if self.phase() == Some(Phase::Speaking) {
                    // Said once the barge-in is complete.
                    self.barge_in(tokio::time::Instant::now());
                    self.held
                        .push_front(Held::Command(SessionCommand::Say(text)));
                    return;
                }
                self.say(text.into_string(), AfterSpeech::Listen).await;
            }
            SessionCommand::SendDtmf(digits) => {
                if let Err(e) = self
                    .deps
                    .telephony
                    .send_dtmf(&self.inbound.caller, digits.as_str())
                    .await
                {
                    tracing::warn!(error = %e, "sending DTMF failed");
                }
            }
            SessionCommand::Transfer { target, mode } => {
                if let Some(conv) = &self.conversation
                    && let Err(e) = self.deps.orchestrator.transfer(conv, &target).await
                {
                    tracing::warn!(error = %e, "orchestrator not told of the transfer");
                }
                match mode {
                    TransferMode::Blind => self.transfer(target).await,
                    TransferMode::Attended => {
                        // The API overrides the agent: a reply still being
                        // thought of is dropped; one being spoken is finished.
                        if self.phase() == Some(Phase::Thinking) {
                            self.reply = None;
                        }
                        self.transfer_attended(target).await;
                    }
                }
            }
            SessionCommand::TransferLeg(event) => self.on_transfer_leg(event).await,
            // Only the unknown-DID message waits for one, before the loop runs.
            SessionCommand::PlaybackFinished => {}
            // Only setup waits for it; a late duplicate means nothing.
            SessionCommand::MediaChannelReady => {}
        }
    }

    /// Blind transfer: the caller enters the transfer context at the target
    /// (a number, an extension or a name) with `continue`. The call leaves
    /// the gateway.
    pub(super) async fn transfer(&mut self, target: TransferTarget) {
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
        let result = self
            .deps
            .telephony
            .continue_in_dialplan(
                &self.inbound.caller,
                &self.deps.config.transfer_context,
                target.as_str(),
            )
            .await;
        match result {
            Ok(()) => {
                let data = EventData::CallTransferred(Transferred {
                    target: target.clone(),
                    mode: TransferMode::Blind,
                });
                self.transition(CallInput::TransferCompleted, data);
                // The caller is Asterisk's now: release our side only.
                self.res.caller = None;
                self.end(EndReason::Transferred, false);
            }
            Err(e) => {
                tracing::warn!(error = %e, %target, "transfer failed; back to the agent");
                let data = EventData::CallEscalated(Escalated {
                    target: target.clone(),
                    mode: TransferMode::Blind,
                    status: Escalation::Failed {
                        outcome: TransferFailure::Failed,
                        error: Some(e.to_string()),
                    },
                });
                self.transition(CallInput::TransferFailed, data);
                self.say(
                    "Sorry, I couldn't transfer you right now.".into(),
                    AfterSpeech::Listen,
                )
                .await;
            }
        }
    }

    /// Releases everything once and publishes `call.ended` with the figures
    /// (unless an attended transfer did at the handover).
    pub(super) async fn finish(mut self, reason: EndReason, hang_up_caller: bool) -> SessionEnded {
        // A reply cut short by the end still counts: what was sent of it and its figures.
        if self.phase() == Some(Phase::Speaking) && !self.pieces.is_empty() {
            let text: Vec<&str> = self.pieces.iter().map(|p| p.text.as_str()).collect();
            self.history_agent(text.join(" "), false);
        }
        self.close_turn_marks();
        if let Some(t) = &mut self.tts {
            t.cancel();
        }
        if let Some(s) = &mut self.stt {
            s.cancel();
        }
        self.reply = None;
        let telephony = self.deps.telephony.clone();
        self.res.release(telephony.as_ref(), hang_up_caller).await;
        // A call handed to a person ended as `transferred`, whoever hangs up later.
        let reason = match self.call.state() {
            CallState::Ended { reason } if self.ended_published => reason.clone(),
            _ => reason,
        };
        self.publish_ended(reason.clone());
        // The router is told of the end once `call.ended` and the record are out.
        self.effects.close().await;
        SessionEnded {
            caller: self.inbound.caller.clone(),
            call_id: self.call_id.clone(),
            reason,
            latencies: std::mem::take(&mut self.latencies),
            barge_in_delays_ms: std::mem::take(&mut self.barge_in_delays_ms),
        }
    }

    /// Ends the call's lifecycle and publishes `call.ended`, once.
    pub(super) fn publish_ended(&mut self, reason: EndReason) {
        if std::mem::replace(&mut self.ended_published, true) {
            return;
        }
        if !self.call.state().is_terminal() {
            let now = std::time::SystemTime::now();
            let _ = self.call.apply(CallInput::End(reason.clone()), now);
        }
        self.save();
        let since = self.call.answered_at().unwrap_or(self.call.started_at());
        let duration = self
            .call
            .ended_at()
            .and_then(|e| e.duration_since(since).ok())
            .unwrap_or_default();
        let data = EventData::CallEnded(Ended {
            reason: reason.clone(),
            duration_ms: duration.as_millis() as u64,
            answered: self.call.answered_at().is_some(),
            turns: self.call.turns(),
            conversation: Some(Conversation {
                barge_ins: self.barge_ins,
                latency: self.latencies.clone(),
            }),
            providers: (!self.stt_names.is_empty()).then(|| Providers {
                stt_providers: self.stt_names.clone(),
                tts_providers: self.tts_names.clone(),
            }),
        });
        self.publish(data);
        self.write_history(&reason);
        tracing::info!(%reason, turns = self.call.turns(), "call ended");
    }
}

/// A stable label for metrics and events (an error's text goes in `detail`).
pub fn reason_label(reason: &EndReason) -> String {
    reason.label()
}
