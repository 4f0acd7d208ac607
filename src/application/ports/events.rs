//! The event publisher port: call events from the catalog, in per-call order.

use super::orchestrator::BoxFuture;
use crate::domain::{
    CallId, TenantId,
    events::{CallContext, EventData, EventType},
};
use std::time::SystemTime;

/// One call event, before it is put into an envelope (CloudEvents for Kafka
/// and the embedded JSON-lines file).
#[derive(Debug, Clone, PartialEq)]
pub struct CallEvent {
    /// Unique per event (consumers de-duplicate on it); a UUIDv7, so ids sort by time.
    pub id: String,
    /// From the catalog.
    pub event_type: EventType,
    /// The call; also the Kafka key, which keeps a call's events in order.
    pub call_id: CallId,
    /// The tenant (every event carries it: the audit trail).
    pub tenant_id: TenantId,
    /// When it happened.
    pub time: SystemTime,
    /// The event's own fields (an object): an [`EventData`] serialised, or
    /// any object (tests, replays).
    pub data: serde_json::Value,
    /// Its place among the call's events, from 1 (the CloudEvents extension
    /// attribute `sequence`): given by whoever publishes the call's events
    /// (its session's writer, the router before a session exists) and
    /// continued from the call's record by an instance that takes it over.
    /// `None` only for events built outside a call's flow (tests, replays).
    pub sequence: Option<u64>,
}

impl CallEvent {
    /// A new event with a fresh id.
    pub fn new(
        event_type: EventType,
        call_id: CallId,
        tenant_id: TenantId,
        time: SystemTime,
        data: serde_json::Value,
    ) -> Self {
        Self {
            id: uuid::Uuid::now_v7().to_string(),
            event_type,
            call_id,
            tenant_id,
            time,
            data,
            sequence: None,
        }
    }

    /// The same event, numbered `sequence` among its call's events.
    pub fn numbered(self, sequence: u64) -> Self {
        Self {
            sequence: Some(sequence),
            ..self
        }
    }

    /// A new event of `data`'s type, its data serialised with the call's
    /// common fields.
    pub fn of(
        call_id: CallId,
        tenant_id: TenantId,
        time: SystemTime,
        context: &CallContext,
        data: &EventData,
    ) -> Self {
        Self::new(
            data.event_type(),
            call_id,
            tenant_id,
            time,
            data.to_json(context),
        )
    }
}

/// Why an event could not be accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublishError {
    /// The publisher has stopped (shutdown).
    #[error("event publisher stopped")]
    Stopped,
    /// The local spool or file cannot take more.
    #[error("event spool full: {0}")]
    Full(String),
}

/// Publishes call events. Implementations keep each call's events in the order
/// they were published and must not lose an accepted event.
pub trait EventPublisher: Send + Sync {
    /// Accepts an event for delivery.
    fn publish(&self, event: CallEvent) -> BoxFuture<'_, Result<(), PublishError>>;
}
