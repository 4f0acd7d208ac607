//! Setup is the driver's (a sequence of Asterisk requests before the
//! conversation); it tells the core what it learns and transitions the call
//! through it, then starts the conversation.

use super::{CallCore, Now, conversation::AfterSpeech};
use crate::{
    application::ports::directory::Route,
    domain::{
        call::{CallInput, EndReason},
        events::{Answered, EventData, Started, SttFailed},
    },
};

/// What could not be had when the call started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StartFailure {
    /// The orchestrator did not open the conversation.
    Agent(String),
    /// No recogniser could be opened.
    Recogniser(String),
}

impl CallCore {
    /// The time of the setup step about to be reported.
    pub(crate) fn at(&mut self, now: Now) -> &mut Self {
        self.now = now;
        self
    }

    /// The call's route and the names of its speech providers.
    pub(crate) fn routed(&mut self, route: Route, stt_names: Vec<String>, tts_names: Vec<String>) {
        self.who.tenant = route.tenant.clone();
        self.who.route = Some(route);
        self.who.stt_names = stt_names;
        self.who.tts_names = tts_names;
    }

    /// The orchestrator opened the call's conversation.
    pub(crate) fn conversation_opened(&mut self, id: &str) {
        self.who.conversation = Some(id.to_owned());
    }

    /// The call is taken over from another instance: it was answered there
    /// (`call.started` and `call.answered` went out then).
    /// The next turn says so to the agent (`resumed_after_takeover`).
    /// `answered_by`: the record's, for an outbound call that was screened.
    pub(crate) fn resumed(
        &mut self,
        call: crate::domain::call::Call,
        answered_by: Option<crate::domain::screening::AnsweredBy>,
    ) {
        self.call = call;
        self.who.answered_by = answered_by;
        self.taken_over = true;
    }

    pub(crate) fn route(&self) -> Option<&Route> {
        self.who.route.as_ref()
    }

    pub(crate) fn tts_provider_count(&self) -> usize {
        self.who.tts_names.len()
    }

    /// `call.answered`'s data: the transport and the speech providers.
    pub(crate) fn answered_data(&self, transport: &'static str) -> EventData {
        EventData::CallAnswered(Answered {
            transport: Some(transport),
            stt_providers: self.who.stt_names.clone(),
            tts_providers: self.who.tts_names.clone(),
        })
    }

    pub(crate) fn started_data(&self) -> EventData {
        EventData::CallStarted(Started::Inbound {
            did: self.who.inbound.did.clone(),
            caller_number: self.who.inbound.caller_number.clone(),
        })
    }

    /// The agent or the recogniser could not be had at the start, after the
    /// call was answered: the caller is transferred where the route's
    /// `on_start_failure` says, else [`Self::apologise`]s.
    pub(crate) fn cannot_start(&mut self, why: StartFailure) {
        let reason = match why {
            StartFailure::Agent(e) => EndReason::Error(format!("orchestrator: {e}")),
            StartFailure::Recogniser(e) => {
                self.publish(EventData::SttFailed(SttFailed {
                    error: e.clone(),
                    attempt: None,
                    providers: self.who.stt_names.clone(),
                }));
                EndReason::Error(format!("stt: {e}"))
            }
        };
        let target = self.route().and_then(|r| r.on_start_failure.clone());
        match target {
            Some(target) => {
                tracing::warn!(%reason, %target, "the call cannot start: transferring the caller");
                self.transition(CallInput::Converse { greeting: false }, None);
                self.start_failure = Some(reason);
                self.transfer(target);
            }
            None => self.apologise(reason),
        }
        self.end_if_asked();
    }

    /// The caller hears `session.unavailable_text` (it cannot be
    /// interrupted: nothing can follow it) and the call ends with `reason`;
    /// without that text it ends at once.
    pub(super) fn apologise(&mut self, reason: EndReason) {
        let text = self.cfg.unavailable_text.clone();
        if text.trim().is_empty() {
            self.end(reason, true);
        } else {
            tracing::warn!(%reason, "the call cannot start: apologising");
            if !matches!(
                self.call.state(),
                crate::domain::call::CallState::Active { .. }
            ) {
                self.transition(CallInput::Converse { greeting: true }, None);
            }
            self.say(text, AfterSpeech::Hangup(reason));
        }
    }

    /// Media, agent and recogniser are up: the conversation starts, with the
    /// greeting if there is one.
    pub(crate) fn converse(&mut self, greeting: Option<String>) {
        self.stt.open = true;
        self.transition(
            CallInput::Converse {
                greeting: greeting.is_some(),
            },
            None,
        );
        match greeting {
            Some(text) => self.say(text, AfterSpeech::Listen),
            None => self.listen(),
        }
        self.end_if_asked();
    }
}
