//! A call to a DID with no route: answer, play the operator's message (an
//! Asterisk sound, so no speech provider is involved), hang up. Without a
//! message the caller is hung up at once. Either way the log line and
//! `call.ended` (reason `unknown_did`) say why.

use super::{
    SessionCommand,
    run::{Session, read_clock},
};
use crate::{
    application::{admission::AdmissionError, ports::telephony::HangupCause},
    domain::{
        call::{CallInput, EndReason},
        events::EventData,
    },
};
use std::time::Duration;

/// The longest message we wait for: a playback whose end never comes (an
/// event lost in a reconnect) must not hold the caller forever.
const MESSAGE_LIMIT: Duration = Duration::from_secs(60);

impl Session {
    /// Handles the call and marks it ended; the loop does not run.
    pub(super) async fn unrouted(&mut self) {
        let media = self.deps.config.unknown_did_media.clone();
        tracing::warn!(
            did = %self.inbound.did.redacted(),
            message = media.as_deref().unwrap_or("none"),
            "no route for the dialled number: refusing the call"
        );
        self.transition(CallInput::InboundArrived, self.started_data());
        let caller = self.inbound.caller.clone();
        let telephony = self.deps.telephony.clone();
        let mut caller_gone = false;
        if let Some(media) = media {
            match telephony.answer(&caller).await {
                Ok(()) => {
                    self.transition(
                        CallInput::Answered,
                        EventData::CallAnswered(Default::default()),
                    );
                    match telephony.play(&caller, &media).await {
                        Ok(()) => caller_gone = self.wait_for_message_end().await,
                        Err(e) => {
                            tracing::warn!(error = %e, %media, "unknown-DID message not played")
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot answer for the unknown-DID message"),
            }
        }
        if !caller_gone {
            let _ = telephony.hangup(&caller, HangupCause::Failure).await;
        }
        self.res.caller = None;
        self.end(EndReason::UnknownDid, false);
    }

    /// The tenant's share of live calls is full: refused before answer with
    /// cause congestion, so the caller's network may try elsewhere. The call
    /// still has its `call.started` and `call.ended` (reason `at_capacity`).
    pub(super) async fn over_share(&mut self, e: AdmissionError) {
        tracing::warn!(reason = e.label(), "inbound call refused: {e}");
        self.transition(CallInput::InboundArrived, self.started_data());
        let _ = self
            .deps
            .telephony
            .hangup(&self.inbound.caller, HangupCause::Congestion)
            .await;
        self.res.caller = None;
        self.end(EndReason::AtCapacity, false);
    }

    /// Waits for the message's `PlaybackFinished`; true when the caller hung
    /// up meanwhile.
    async fn wait_for_message_end(&mut self) -> bool {
        let deadline = tokio::time::Instant::from_std(read_clock().at) + MESSAGE_LIMIT;
        loop {
            let command = tokio::time::timeout_at(deadline, self.commands.recv()).await;
            match command {
                Ok(Some(SessionCommand::PlaybackFinished)) => return false,
                Ok(Some(SessionCommand::CallerGone | SessionCommand::ChannelLost)) => return true,
                Ok(Some(SessionCommand::Hangup(_))) | Ok(None) => return false,
                Ok(Some(_)) => {}
                Err(_) => {
                    tracing::warn!("the unknown-DID message never finished: hanging up");
                    return false;
                }
            }
        }
    }
}
