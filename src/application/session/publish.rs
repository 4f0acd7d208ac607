//! Publishing the catalog events of a transition.

use super::run::Session;
use crate::{
    application::ports::events::CallEvent,
    domain::{call::CallInput, events::EventType},
};
use serde_json::{Value, json};

impl Session {
    /// Applies `input` to the call and publishes the events it stands for,
    /// each with `data`. An illegal transition is a bug in the loop: logged,
    /// nothing published.
    pub(super) async fn transition(&mut self, input: CallInput, data: Value) -> bool {
        let now = std::time::SystemTime::now();
        match self.call.apply(input.clone(), now) {
            Ok(events) => {
                self.save().await;
                // `call.ended` goes out once, from `finish`, with the call's figures.
                for t in events.into_iter().filter(|t| *t != EventType::CallEnded) {
                    self.publish(t, data.clone()).await;
                }
                true
            }
            Err(e) => {
                tracing::warn!(call_id = %self.call_id, error = %e, "ignored transition");
                false
            }
        }
    }

    /// Writes the call's record to the store; a store failure is logged, never fatal.
    pub(super) async fn save(&mut self) {
        let record = super::record::summary(
            &self.call_id,
            &self.tenant,
            &self.call,
            Some(self.inbound.caller_number.clone()),
            Some(self.inbound.did.to_string()),
            self.route.as_ref().map(|r| r.agent.clone()),
            &self.metadata,
        );
        if let Err(e) = self.deps.store.put(record).await {
            tracing::warn!(call_id = %self.call_id, error = %e, "call record not stored");
        }
    }

    /// Publishes one event; a publisher failure is logged, never fatal to the call.
    pub(super) async fn publish(&mut self, event_type: EventType, data: Value) {
        let mut data = match data {
            Value::Object(m) => m,
            _ => serde_json::Map::new(),
        };
        data.insert("direction".into(), json!(self.call.direction()));
        data.insert("channel_id".into(), json!(self.inbound.caller.as_str()));
        if let Some(route) = &self.route {
            data.insert("agent_id".into(), json!(route.agent));
        }
        let ev = CallEvent::new(
            event_type,
            self.call_id.clone(),
            self.tenant.clone(),
            std::time::SystemTime::now(),
            Value::Object(data),
        );
        if let Err(e) = self.deps.events.publish(ev).await {
            tracing::error!(call_id = %self.call_id, event = %event_type, error = %e, "call event not published");
        }
    }
}
