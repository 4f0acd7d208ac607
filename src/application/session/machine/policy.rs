//! The dialing policy on the agent's transfers: a number the tenant's
//! `dialing.transfer_allow` does not open is never dialled, however the
//! caller talked the model into asking for it.

use super::CallCore;
use crate::domain::{
    DialRefusal, TransferTarget,
    events::{Escalated, Escalation, EventData, TransferFailure},
};

impl CallCore {
    /// Whether the agent may hand the caller to `target`. Names and
    /// extensions reach only what the operator configured (the transfer
    /// endpoints, the transfer context): only numbers need the policy.
    pub(super) fn agent_may_transfer(&self, target: &TransferTarget) -> Result<(), DialRefusal> {
        match target {
            TransferTarget::Number(n) => self.cfg.dialing.check_transfer(&self.who.tenant, n),
            TransferTarget::Extension(_) | TransferTarget::Name(_) => Ok(()),
        }
    }

    /// Refuses the agent's transfer: `call.escalated` (failed, `not_allowed`),
    /// the configured sentence after what the agent is saying, and the
    /// conversation goes on.
    pub(super) fn refuse_transfer(&mut self, target: TransferTarget, refusal: DialRefusal) {
        tracing::warn!(
            call_id = %self.who.call_id,
            "agent transfer refused by the dialing policy: {refusal}"
        );
        self.publish(EventData::CallEscalated(Escalated {
            target,
            mode: self.cfg.transfer_mode,
            status: Escalation::Failed {
                outcome: TransferFailure::NotAllowed,
                error: Some(format!("dialing.transfer_allow: {refusal}")),
            },
        }));
        let text = self.cfg.dialing.refused_transfer_text.clone();
        self.speak_sentence(text);
    }
}
