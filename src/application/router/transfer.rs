//! Attended transfers: API transfer requests are checked here first (the
//! events of their legs, `vg-h-{call id}`, are routed by [`super::classify`]).

use super::CallRouter;
use crate::{
    application::{
        ports::calls::{ControlError, TransferMode},
        session::SessionCommand,
    },
    domain::{TenantId, TransferTarget},
};

impl CallRouter {
    /// Refuses what an attended transfer could not dial, and any number the
    /// tenant's API may not dial, before the session hears of it.
    pub(super) fn check_transfer(
        &self,
        tenant: &TenantId,
        command: &SessionCommand,
    ) -> Result<(), ControlError> {
        if let SessionCommand::Transfer {
            target: TransferTarget::Number(n),
            ..
        } = command
        {
            self.deps
                .config
                .dialing
                .check_api(tenant, n)
                .map_err(|e| ControlError::NotAllowed(format!("dialing.api_allow: {e}")))?;
        }
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
