//! The call's lifecycle transitions and the writes they stand for.

use super::{effects::Effect, run::Session};
use crate::{
    application::ports::events::CallEvent,
    domain::{call::CallInput, events::EventType},
};
use serde_json::{Value, json};

impl Session {
    /// Applies `input` to the call and submits the events it stands for,
    /// each with `data`. An illegal transition is a bug in the loop: logged,
    /// nothing published.
    pub(super) fn transition(&mut self, input: CallInput, data: Value) -> bool {
        let now = std::time::SystemTime::now();
        match self.call.apply(input.clone(), now) {
            Ok(events) => {
                self.save();
                // `call.ended` goes out once, from `finish`, with the call's figures.
                for t in events.into_iter().filter(|t| *t != EventType::CallEnded) {
                    self.publish(t, data.clone());
                }
                true
            }
            Err(e) => {
                tracing::warn!(call_id = %self.call_id, error = %e, "ignored transition");
                false
            }
        }
    }

    /// Submits the call's record for the store.
    pub(super) fn save(&mut self) {
        let record = super::record::summary(
            &self.call_id,
            &self.tenant,
            &self.call,
            Some(self.inbound.caller_number.clone()),
            Some(self.inbound.did.to_string()),
            self.route.as_ref().map(|r| r.agent.clone()),
            &self.metadata,
        );
        self.effects.submit(Effect::SaveRecord(record));
    }

    /// Submits one event, stamped now, with the fields every event of a call carries.
    pub(super) fn publish(&mut self, event_type: EventType, data: Value) {
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
        self.effects.submit(Effect::Publish(ev));
    }
}
