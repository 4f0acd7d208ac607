//! The call's lifecycle transitions and the writes they stand for.

use super::{effects::Effect, run::Session};
use crate::{
    application::ports::events::CallEvent,
    domain::{
        call::CallInput,
        events::{CallContext, EventData, EventType},
    },
};

impl Session {
    /// Applies `input` to the call and submits the event it stands for with
    /// `data`, when the transition yields `data`'s type (a reply started
    /// while listening yields none). An illegal transition is a bug in the
    /// loop: logged, nothing published.
    pub(super) fn transition(
        &mut self,
        input: CallInput,
        data: impl Into<Option<EventData>>,
    ) -> bool {
        let now = std::time::SystemTime::now();
        match self.call.apply(input.clone(), now) {
            Ok(events) => {
                self.save();
                let mut data = data.into();
                // `call.ended` goes out once, from `finish`, with the call's figures.
                for t in events.into_iter().filter(|t| *t != EventType::CallEnded) {
                    match data.take_if(|d| d.event_type() == t) {
                        Some(d) => self.publish(d),
                        None => tracing::error!(
                            call_id = %self.call_id, event = %t, ?input,
                            "no data for the transition's event: not published"
                        ),
                    }
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
    pub(super) fn publish(&mut self, mut data: EventData) {
        if self.route.as_ref().is_some_and(|r| !r.store_transcripts) {
            data = data.without_transcripts();
        }
        let context = CallContext {
            direction: self.call.direction(),
            channel_id: Some(self.inbound.caller.as_str().to_owned()),
            agent_id: self.route.as_ref().map(|r| r.agent.clone()),
        };
        let ev = CallEvent::of(
            self.call_id.clone(),
            self.tenant.clone(),
            std::time::SystemTime::now(),
            &context,
            &data,
        );
        self.effects.submit(Effect::Publish(ev));
    }
}
