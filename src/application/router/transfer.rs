//! The legs of attended transfers (`vg-h-{call id}`): their events go to the
//! call's session, and API transfer requests are checked here first.

use super::CallRouter;
use crate::{
    application::{
        own_ids::{OwnChannel, is_far_half},
        ports::calls::{ControlError, TransferMode},
        session::{SessionCommand, TransferLegEvent},
    },
    domain::TransferTarget,
};
use ari::Event;

impl CallRouter {
    /// Forwards an event of a transfer leg to its call's session. `false`:
    /// the event is not about a transfer leg.
    pub(super) fn on_transfer_leg_event(&self, event: &Event) -> bool {
        let Some(id) = event.channel_id() else {
            return false;
        };
        let Some(OwnChannel::TransferLeg(call)) = OwnChannel::parse(id) else {
            return false;
        };
        // The far half of a Local channel is `<id>;2`: its Dial events count,
        // its own start and end do not.
        let far_half = is_far_half(id);
        let leg = match event {
            Event::Dial(d) => TransferLegEvent::Dial(d.dialstatus.clone()),
            Event::StasisStart(_) if !far_half => TransferLegEvent::Answered,
            Event::ChannelDestroyed(d) if !far_half => TransferLegEvent::Gone { cause: d.cause.0 },
            _ => return true,
        };
        // A transfer leg is rare and short-lived: a scan of the calls is fine.
        match self.calls.handles().find(|h| h.call_id == call).cloned() {
            Some(h) => {
                if let Err(e) = h.commands.try_send(SessionCommand::TransferLeg(leg)) {
                    tracing::warn!(call_id = %h.call_id, error = %e, "session did not take a transfer leg event");
                }
            }
            None => tracing::debug!(channel = %id, "event of a transfer leg whose call is gone"),
        }
        true
    }

    /// Refuses what an attended transfer could not dial, before the session hears of it.
    pub(super) fn check_transfer(&self, command: &SessionCommand) -> Result<(), ControlError> {
        if let SessionCommand::Transfer {
            target,
            mode: TransferMode::Attended,
        } = command
            && self.deps.config.attended_endpoint(target).is_none()
        {
            return Err(unreachable(target));
        }
        Ok(())
    }
}

/// Why an attended transfer to `target` cannot be dialled.
fn unreachable(target: &TransferTarget) -> ControlError {
    let target = target.as_str();
    ControlError::Invalid(format!(
        "{target:?} is neither an E.164 number nor a configured transfer target (session.transfer_endpoints)"
    ))
}
