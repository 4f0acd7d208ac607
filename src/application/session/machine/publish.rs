//! The call's lifecycle transitions and the writes they stand for.

use super::{CallCore, Effect};
use crate::{
    application::ports::events::CallEvent,
    domain::{
        call::CallInput,
        events::{CallContext, EventData, EventType},
    },
};

impl CallCore {
    /// Applies `input` to the call and publishes the event it stands for
    /// with `data`, when the transition yields `data`'s type (a reply started
    /// while listening yields none). An illegal transition is a bug:
    /// logged, nothing published.
    pub(crate) fn transition(
        &mut self,
        input: CallInput,
        data: impl Into<Option<EventData>>,
    ) -> bool {
        match self.call.apply(input.clone(), self.now.wall) {
            Ok(events) => {
                self.save();
                let mut data = data.into();
                // `call.ended` goes out once, from `finish`, with the call's figures.
                for t in events.into_iter().filter(|t| *t != EventType::CallEnded) {
                    match data.take_if(|d| d.event_type() == t) {
                        Some(d) => self.publish(d),
                        None => tracing::error!(
                            call_id = %self.who.call_id, event = %t, ?input,
                            "no data for the transition's event: not published"
                        ),
                    }
                }
                true
            }
            Err(e) => {
                tracing::warn!(call_id = %self.who.call_id, error = %e, "ignored transition");
                false
            }
        }
    }

    pub(super) fn save(&mut self) {
        let who = &self.who;
        let record = super::super::record::summary(
            &who.call_id,
            &who.tenant,
            &self.call,
            Some(who.inbound.caller_number.clone()),
            Some(who.inbound.did.to_string()),
            who.route.as_ref().map(|r| r.agent.clone()),
            &who.metadata,
        );
        self.emit(Effect::Save(record));
    }

    /// Publishes one event, stamped now, with the fields every event of a call carries.
    pub(crate) fn publish(&mut self, mut data: EventData) {
        if self
            .who
            .route
            .as_ref()
            .is_some_and(|r| !r.store_transcripts)
        {
            data = data.without_transcripts();
        }
        let context = CallContext {
            direction: self.call.direction(),
            channel_id: Some(self.who.inbound.caller.as_str().to_owned()),
            agent_id: self.who.route.as_ref().map(|r| r.agent.clone()),
        };
        let ev = CallEvent::of(
            self.who.call_id.clone(),
            self.who.tenant.clone(),
            self.now.wall,
            &context,
            &data,
        );
        self.emit(Effect::Publish(ev));
    }
}
