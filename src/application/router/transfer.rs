//! Attended transfers: API transfer requests are checked here first (the
//! events of their legs, `vg-h-{call id}`, are routed by [`super::classify`]).

use super::CallRouter;
use crate::{
    application::{
        ports::calls::{ControlError, TransferMode},
        session::SessionCommand,
    },
    domain::TransferTarget,
};

impl CallRouter {
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
