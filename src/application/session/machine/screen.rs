//! Answering-machine detection: the driver screens the callee of an
//! outbound call placed with `detect_machine` (`session::screen`) and tells
//! the core the verdict; the core records it, publishes `call.screened`, and
//! either converses as usual or leaves the request's message to the machine.

use super::{CallCore, conversation::AfterSpeech};
use crate::domain::{
    call::{CallInput, EndReason},
    events::{EventData, Screened},
    screening::Verdict,
};
use std::time::Instant;

impl CallCore {
    /// Who answered was decided (`since`: when the screening began). Each
    /// turn after it tells the orchestrator; the record shows it.
    pub(crate) fn screened(&mut self, verdict: Verdict, since: Instant, action: &'static str) {
        self.who.answered_by = Some(verdict.answered_by);
        self.save();
        let decision_ms = verdict.at.saturating_duration_since(since).as_millis();
        self.publish(EventData::CallScreened(Screened {
            answered_by: verdict.answered_by,
            reason: verdict.reason,
            decision_ms: u64::try_from(decision_ms).unwrap_or(u64::MAX),
            action,
        }));
    }

    /// A machine answered and the request gave a message: say it (after the
    /// beep, the driver's wait), then hang up.
    pub(crate) fn leave_message(&mut self, text: String) {
        self.transition(CallInput::Converse { greeting: true }, None);
        self.say(text, AfterSpeech::Hangup(EndReason::AnsweringMachine));
        self.end_if_asked();
    }
}
