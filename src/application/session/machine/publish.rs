//! The call's lifecycle transitions and the writes they stand for.

use super::{CallCore, Effect};
use crate::{
    application::ports::{calls::CallSummary, events::CallEvent},
    domain::{
        call::CallInput,
        events::{CallContext, EventData, EventType, Transcribed},
    },
};
use std::time::SystemTime;

/// A caller's turn waiting in the masker: its event and when it was heard.
pub(super) type HeldTurn = (Transcribed, SystemTime);

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
            who.route
                .as_ref()
                .map(|r| (r.agent.clone(), who.agent_version.clone())),
            &who.metadata,
        );
        let record = CallSummary {
            answered_by: who.answered_by,
            resume: Some(crate::application::ports::calls::Resume {
                caller: who.inbound.caller.to_string(),
                conversation: who.conversation.clone(),
                // Set by the call's writer, which numbers its events.
                sequence: 0,
                // Answered: screened here already, or not at all.
                screen: None,
                transfer: match &self.conv {
                    super::conversation::Conversation::Attended(t) => Some(t.target.clone()),
                    _ => None,
                },
            }),
            ..record
        };
        self.emit(Effect::Save(record));
    }

    /// Publishes one event, stamped now, with the fields every event of a
    /// call carries. A caller's transcript (`stt.transcribed`, its text as
    /// heard) goes through the call's masker first, which may hold it back.
    pub(crate) fn publish(&mut self, data: EventData) {
        match data {
            EventData::SttTranscribed(t) if self.transcripts_shown() => self.transcribed(t),
            data => self.publish_at(data, self.now.wall),
        }
    }

    /// The caller's turn: masked with the turns before it and published with
    /// any turn held until now, or held itself (its time kept) while the
    /// digits it ends with could be the start of a card the next turn completes.
    fn transcribed(&mut self, mut t: Transcribed) {
        let text = std::mem::take(&mut t.text);
        let ready = self.masker.push(text, (t, self.now.wall));
        self.publish_turns(ready);
    }

    /// Publishes the held transcript, masked as it stands: the call ended,
    /// or a key press came before the caller went on.
    pub(super) fn release_transcripts(&mut self) {
        let held = self.masker.release();
        self.publish_turns(held);
    }

    fn publish_turns(&mut self, ready: Vec<(String, HeldTurn)>) {
        for (text, (t, at)) in ready {
            self.publish_at(EventData::SttTranscribed(Transcribed { text, ..t }), at);
        }
    }

    /// Whether this call's events carry transcripts (`store_transcripts`).
    fn transcripts_shown(&self) -> bool {
        self.who.route.as_ref().is_none_or(|r| r.store_transcripts)
    }

    fn publish_at(&mut self, mut data: EventData, at: SystemTime) {
        if !self.transcripts_shown() {
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
            at,
            &context,
            &data,
        );
        self.emit(Effect::Publish(ev));
    }
}
