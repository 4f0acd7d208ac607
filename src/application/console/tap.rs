//! An [`EventPublisher`] in front of the real one that shows each event to
//! the console first. The console's work is a map update under a short lock.

use super::ConsoleHub;
use crate::application::ports::{
    events::{CallEvent, EventPublisher, PublishError},
    orchestrator::BoxFuture,
};
use std::sync::Arc;

/// Shows every published event to the console, then publishes it.
pub struct ConsoleTap {
    inner: Arc<dyn EventPublisher>,
    hub: Arc<ConsoleHub>,
}

impl ConsoleTap {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn EventPublisher>, hub: Arc<ConsoleHub>) -> Self {
        Self { inner, hub }
    }
}

impl EventPublisher for ConsoleTap {
    fn publish(&self, event: CallEvent) -> BoxFuture<'_, Result<(), PublishError>> {
        self.hub.observe(&event);
        self.inner.publish(event)
    }
}
