//! Which agent the orchestrator has on the call: asked beside the call's
//! loop once the conversation exists (and again after a transfer), never on
//! a turn's path; the answer comes back as a session command.

use super::{SessionCommand, run::Session};
use crate::application::ports::orchestrator::{AgentOrchestrator, ConversationId};
use std::sync::Arc;
use tokio::sync::mpsc::WeakSender;
use tracing::Instrument;

impl Session {
    /// Starts the lookup for `conversation`; the greeting does not wait.
    pub(super) fn look_up_agent(&self, conversation: &ConversationId) {
        let orchestrator = self.deps.orchestrator.clone();
        let back = self.own_commands.clone();
        let conversation = conversation.clone();
        tokio::spawn(look_up(orchestrator, conversation, back).in_current_span());
    }
}

/// Asks, and hands a named agent back to the session if it still runs. A
/// failure or a 404 leaves the route's agent.
pub(super) async fn look_up(
    orchestrator: Arc<dyn AgentOrchestrator>,
    conversation: ConversationId,
    back: Option<WeakSender<SessionCommand>>,
) {
    match orchestrator.agent(&conversation).await {
        Ok(Some(info)) => {
            if let Some(tx) = back.and_then(|w| w.upgrade()) {
                let _ = tx.send(SessionCommand::AgentIdentified(info)).await;
            }
        }
        Ok(None) => tracing::debug!("the orchestrator names no agent: the route's stands"),
        Err(e) => tracing::warn!(error = %e, "agent lookup failed: the route's agent stands"),
    }
}
