//! A circuit breaker in front of the orchestrator: after a run of failures
//! (unreachable, timing out, 5xx, 429) new requests fail at once for a
//! cool-down instead of each caller waiting out `reply_timeout` in silence;
//! then one request tries again (half-open).

use crate::{
    adapter::speech::fallback::{BreakerConfig, breaker::Breaker},
    application::ports::orchestrator::{
        AgentInfo, AgentOrchestrator, BoxFuture, Conversation, ConversationId, CreateConversation,
        OrchestratorError, ReplyStream, TransferTarget, Turn,
    },
};
use futures_util::StreamExt;
use std::sync::{Arc, Mutex};
use tokio::time::Instant;

/// An orchestrator behind a breaker.
pub(super) struct Guarded {
    inner: Arc<dyn AgentOrchestrator>,
    breaker: Arc<Mutex<Breaker>>,
    config: BreakerConfig,
}

impl Guarded {
    /// Guards `inner` with `config`'s thresholds.
    pub(super) fn new(inner: Arc<dyn AgentOrchestrator>, config: BreakerConfig) -> Self {
        Self {
            inner,
            breaker: Arc::new(Mutex::new(Breaker::new(config))),
            config,
        }
    }

    /// `Err` while the breaker is open.
    fn admit(&self) -> Result<(), OrchestratorError> {
        let breaker = self.breaker.lock().expect("breaker lock poisoned");
        if breaker.allows(Instant::now()) {
            Ok(())
        } else {
            Err(OrchestratorError::CircuitOpen {
                failures: self.config.failures,
                cool_down: self.config.cool_down,
            })
        }
    }
}

/// Whether a failure says the orchestrator itself is in trouble (as opposed
/// to one bad reply).
fn counts(e: &OrchestratorError) -> bool {
    match e {
        OrchestratorError::Timeout { .. }
        | OrchestratorError::RateLimited { .. }
        | OrchestratorError::Truncated
        | OrchestratorError::Transport(_) => true,
        OrchestratorError::Status { status, .. } => *status >= 500,
        _ => false,
    }
}

fn observe(breaker: &Mutex<Breaker>, result: Result<(), &OrchestratorError>) {
    let mut b = breaker.lock().expect("breaker lock poisoned");
    match result {
        Err(e) if counts(e) => b.failure(Instant::now()),
        Err(_) | Ok(()) => b.success(),
    }
}

impl AgentOrchestrator for Guarded {
    fn create_conversation(
        &self,
        request: CreateConversation,
    ) -> BoxFuture<'_, Result<Conversation, OrchestratorError>> {
        Box::pin(async move {
            self.admit()?;
            let result = self.inner.create_conversation(request).await;
            observe(&self.breaker, result.as_ref().map(drop));
            result
        })
    }

    fn send_turn(&self, conversation: &ConversationId, turn: Turn) -> ReplyStream {
        if let Err(e) = self.admit() {
            return Box::pin(futures_util::stream::once(async move { Err(e) }));
        }
        let breaker = self.breaker.clone();
        let mut seen = false;
        // The first item decides: a reply that starts is a healthy orchestrator.
        Box::pin(
            self.inner
                .send_turn(conversation, turn)
                .inspect(move |item| {
                    if !std::mem::replace(&mut seen, true) {
                        observe(&breaker, item.as_ref().map(drop));
                    }
                }),
        )
    }

    fn transfer<'a>(
        &'a self,
        conversation: &'a ConversationId,
        target: &'a TransferTarget,
    ) -> BoxFuture<'a, Result<(), OrchestratorError>> {
        Box::pin(async move {
            self.admit()?;
            let result = self.inner.transfer(conversation, target).await;
            observe(&self.breaker, result.as_ref().map(drop));
            result
        })
    }

    /// Not counted by the breaker: an optional lookup off the turn's path.
    fn agent<'a>(
        &'a self,
        conversation: &'a ConversationId,
    ) -> BoxFuture<'a, Result<Option<AgentInfo>, OrchestratorError>> {
        self.inner.agent(conversation)
    }
}
