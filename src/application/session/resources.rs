//! What a call holds on Asterisk and in the gateway, and releasing it once.

use crate::application::ports::{
    media::{LegSender, MediaCommand},
    telephony::{HangupCause, Telephony, TelephonyError},
};
use ari::{BridgeId, ChannelId};

/// Everything to give back when the call ends. Each field is taken when
/// released, so a second `release` does nothing.
#[derive(Debug, Default)]
pub(super) struct Resources {
    /// The caller's channel, while we may still have to hang it up.
    pub(super) caller: Option<ChannelId>,
    /// Our externalMedia channel.
    pub(super) media_channel: Option<ChannelId>,
    /// The mixing bridge.
    pub(super) bridge: Option<BridgeId>,
    /// The media leg's control and audio channels.
    pub(super) leg: Option<LegSender>,
    /// The person's leg of an attended transfer, ringing or bridged.
    pub(super) human: Option<ChannelId>,
}

impl Resources {
    /// Releases everything still held. `hang_up_caller` is false when the
    /// caller is already gone or was handed over (a blind transfer).
    pub(super) async fn release(&mut self, telephony: &dyn Telephony, hang_up_caller: bool) {
        if let Some(leg) = self.leg.take() {
            let _ = leg.try_send(MediaCommand::Close);
        }
        if let Some(ch) = self.media_channel.take() {
            ignore_gone(
                "hang up media channel",
                telephony.hangup(&ch, HangupCause::Normal).await,
            );
        }
        if let Some(ch) = self.human.take() {
            ignore_gone(
                "hang up the transfer leg",
                telephony.hangup(&ch, HangupCause::Normal).await,
            );
        }
        if let Some(b) = self.bridge.take() {
            ignore_gone("destroy bridge", telephony.destroy_bridge(&b).await);
        }
        if let Some(ch) = self.caller.take()
            && hang_up_caller
        {
            ignore_gone(
                "hang up caller",
                telephony.hangup(&ch, HangupCause::Normal).await,
            );
        }
    }
}

impl Resources {
    /// Forgets the caller, the person and their bridge without releasing
    /// them: they outlive this gateway (see the shutdown of a bridged call).
    pub(super) fn leave_bridged(&mut self) {
        self.caller = None;
        self.human = None;
        self.bridge = None;
    }
}

/// A resource that is already gone is released; anything else is logged.
pub(crate) fn ignore_gone(what: &str, result: Result<(), TelephonyError>) {
    match result {
        Ok(()) | Err(TelephonyError::Gone(_)) => {}
        Err(e) => tracing::warn!(error = %e, "{what} failed during cleanup"),
    }
}
