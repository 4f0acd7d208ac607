//! The agent orchestrator port: the outside service that decides what the agent
//! says. The gateway owns the call and its audio; the orchestrator owns the
//! conversation.
//!
//! # How the session drives it
//! 1. At call start: [`AgentOrchestrator::create_conversation`], keep the
//!    [`ConversationId`], speak the greeting if one came back.
//! 2. Per turn: [`AgentOrchestrator::send_turn`] returns a [`ReplyStream`] at
//!    once; nothing is sent until it is first polled. Feed each
//!    [`ReplyPart::Text`] into the sentence splitter
//!    (`crate::application::sentences`) and hand each finished sentence to TTS;
//!    carry out each [`ReplyPart::Action`] in order; at [`ReplyPart::Done`] flush
//!    the splitter. The stream ends after `Done` or after its first `Err`.
//! 3. Barge-in: drop the stream. That cancels the request (or the built-in
//!    agent's reply) at once; the next turn carries `interrupted: Some(true)`
//!    and `heard_text`.
//! 4. When the gateway transfers the call on its own (API request), tell the
//!    orchestrator with [`AgentOrchestrator::transfer`].
//!
//! Implementations enforce their own deadlines: the first part of a reply
//! arrives within the reply timeout (10 s by default) or the stream yields
//! [`OrchestratorError::Timeout`], upon which the session speaks its fallback
//! sentence and publishes `error.llm_timeout`.
//!
//! The trait returns boxed futures and streams instead of using `async fn`, so
//! that it stays object-safe (`Arc<dyn AgentOrchestrator>`) without the
//! `async-trait` crate; the per-call cost is one allocation per request.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use futures_util::Stream;

/// Where an agent may send the call; parsed where its text comes in.
pub use crate::domain::TransferTarget;
use crate::domain::call::Direction;
use crate::domain::{AgentId, CallId, Did, TenantId};

/// A boxed, sendable future, as the trait's methods return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The agent's reply to one turn, part by part. Owns everything it needs, so
/// the session can keep it across `select!` iterations and drop it to cancel.
pub type ReplyStream = Pin<Box<dyn Stream<Item = Result<ReplyPart, OrchestratorError>> + Send>>;

/// The agent orchestrator: the conversation's brain, behind HTTP or built in.
pub trait AgentOrchestrator: Send + Sync {
    /// Opens the conversation for a call, before it is answered.
    fn create_conversation(
        &self,
        request: CreateConversation,
    ) -> BoxFuture<'_, Result<Conversation, OrchestratorError>>;

    /// Sends what the caller said (or pressed) and returns the reply as it
    /// streams. Lazy: the request starts at the first poll.
    fn send_turn(&self, conversation: &ConversationId, turn: Turn) -> ReplyStream;

    /// Tells the orchestrator the gateway transferred the call to `target`.
    fn transfer<'a>(
        &'a self,
        conversation: &'a ConversationId,
        target: &'a TransferTarget,
    ) -> BoxFuture<'a, Result<(), OrchestratorError>>;

    /// The agent the orchestrator has on the conversation now (it may pick
    /// or change it); `None` when it does not say (the route's agent
    /// stands). Optional in the contract: the default says nothing.
    fn agent<'a>(
        &'a self,
        _conversation: &'a ConversationId,
    ) -> BoxFuture<'a, Result<Option<AgentInfo>, OrchestratorError>> {
        Box::pin(async { Ok(None) })
    }
}

/// Which agent handles a conversation, as the orchestrator reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentInfo {
    /// The agent.
    pub agent_id: AgentId,
    /// Its version (a deployment, a prompt revision), if the orchestrator has one.
    pub version: Option<String>,
}

/// What the orchestrator needs to open a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateConversation {
    /// The gateway's id of the call.
    pub call_id: CallId,
    /// Whose call it is.
    pub tenant_id: TenantId,
    /// Which agent persona answers.
    pub agent_id: AgentId,
    /// Who placed the call.
    pub direction: Direction,
    /// The calling number as the network presented it (E.164 or an
    /// extension); `None` when withheld or not a number.
    pub caller: Option<Did>,
    /// The called number (the DID inbound, the dialled E.164 outbound).
    pub callee: Option<Did>,
    /// BCP 47 language tag of the call, e.g. `en-US`.
    pub language: String,
    /// Free-form context: trunk id, DID id, the API caller's metadata.
    pub metadata: BTreeMap<String, String>,
}

/// An opened conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversation {
    /// The orchestrator's id for it.
    pub conversation_id: ConversationId,
    /// What to say first, if the agent opens the call.
    pub greeting: Option<String>,
}

/// One turn of the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Turn {
    /// The final transcript of what the caller said (may be empty for a DTMF turn).
    pub text: String,
    /// `Some(true)` when the caller barged in on the previous reply.
    pub interrupted: Option<bool>,
    /// The part of the previous reply the caller heard before barging in.
    pub heard_text: Option<String>,
    /// Digits the caller pressed (`0-9 * # A-D`).
    pub dtmf: Option<String>,
    /// `Some(true)` when a turn sent ahead of the caller's end of turn was
    /// dropped because the caller went on: this turn replaces it (its text
    /// holds the dropped one's), and the dropped reply was never spoken.
    pub superseded: Option<bool>,
    /// `Some(true)` on the first turn after another gateway instance took
    /// the call over (`[ha]`): the instance that served the call died or
    /// handed it over, so the reply it was giving, if any, was cut where the
    /// caller stopped hearing it, and what they heard of it is not known.
    pub resumed_after_takeover: Option<bool>,
    /// Outbound calls screened for an answering machine (`detect_machine`):
    /// who answered, on every turn of the call.
    pub answered_by: Option<crate::domain::screening::AnsweredBy>,
}

/// One piece of a streamed reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyPart {
    /// An incremental chunk of the reply text (not necessarily a whole word).
    Text(String),
    /// Something the gateway must do, in order with the text around it.
    Action(Action),
    /// The reply is complete; nothing follows.
    Done,
}

/// An action the agent asks the gateway to carry out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Hand the call to a person or queue (blind or attended, per configuration).
    Transfer {
        /// Where to: a number, an extension, or a name the transfer
        /// configuration maps to an endpoint.
        target: TransferTarget,
    },
    /// End the call after the text before this action was spoken.
    Hangup,
    /// Play DTMF toward the caller's side (IVRs on outbound calls).
    SendDtmf {
        /// The digits, `0-9 * # A-D` and `,` for a pause.
        digits: DtmfSequence,
    },
    /// The caller's next keys are secret (a card number, a PIN): they reach
    /// the orchestrator only, until the caller presses `#` or speaks a turn.
    SecureInput,
}

/// Why an orchestrator request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrchestratorError {
    /// No reply (or no further part of it) within the deadline: the session
    /// speaks its fallback sentence and publishes `error.llm_timeout`.
    #[error("agent orchestrator timed out after {waited:?} waiting for {waiting_for}")]
    Timeout {
        /// How long it waited.
        waited: Duration,
        /// What it was waiting for: `the reply`, `the next chunk`, `a response`.
        waiting_for: &'static str,
    },
    /// 429: the orchestrator asks us to slow down; queue or hand to a person.
    #[error("agent orchestrator rate limited the request (retry after {retry_after:?})")]
    RateLimited {
        /// From `Retry-After` (seconds form), when given.
        retry_after: Option<Duration>,
    },
    /// Any other non-success status.
    #[error("agent orchestrator answered {status}: {message}")]
    Status {
        /// The HTTP status code.
        status: u16,
        /// The message of its error body, or the start of the raw body.
        message: String,
    },
    /// The orchestrator reported an error inside a streamed reply.
    #[error("agent orchestrator reported an error: {0}")]
    Agent(String),
    /// The reply did not have the agreed shape.
    #[error("agent orchestrator sent a malformed reply: {0}")]
    Malformed(String),
    /// The reply exceeded a size bound (total text, one line, or the body).
    #[error("agent orchestrator reply exceeds {limit} bytes of {what}")]
    TooLarge {
        /// The bound.
        limit: usize,
        /// What was bounded.
        what: &'static str,
    },
    /// The stream ended before its terminator (connection closed mid-reply).
    #[error("agent orchestrator reply ended before it was complete")]
    Truncated,
    /// Too many failures in a row: requests fail at once for a while.
    #[error(
        "agent orchestrator failed {failures} times in a row: not asked again for {cool_down:?}"
    )]
    CircuitOpen {
        /// Failures that opened the breaker.
        failures: u32,
        /// How long it stays open.
        cool_down: Duration,
    },
    /// Connecting, sending or reading failed.
    #[error("agent orchestrator unreachable: {0}")]
    Transport(#[source] super::Cause),
}

/// Why an orchestrator-supplied value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} {value:?} refused: {why}")]
pub struct ValueError {
    /// Which value.
    pub what: &'static str,
    /// The value (bounded in length).
    pub value: String,
    /// The rule it broke.
    pub why: &'static str,
}

fn refuse(what: &'static str, value: &str, why: &'static str) -> ValueError {
    ValueError {
        what,
        value: value.chars().take(64).collect(),
        why,
    }
}

macro_rules! checked_string {
    ($(#[$doc:meta])* $name:ident, $what:literal, $max:literal, $why:literal, $ok:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Validates and wraps.
            pub fn parse(s: impl Into<String>) -> Result<Self, ValueError> {
                let s = s.into();
                let ok: fn(char) -> bool = $ok;
                if s.is_empty() || s.len() > $max || !s.chars().all(ok) {
                    return Err(refuse($what, &s, $why));
                }
                Ok(Self(s))
            }

            /// The value as a string.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

checked_string!(
    /// The orchestrator's conversation id: opaque, printable, percent-encoded
    /// when placed in a URL path.
    ConversationId, "conversation id", 256, "1-256 printable characters",
    |c| !c.is_control()
);
checked_string!(
    /// DTMF the agent sends, as ARI `sendDTMF` accepts them: digits and `,`
    /// for a pause (the API's [`crate::domain::DtmfDigits`] has no pauses).
    DtmfSequence, "dtmf digits", 64, "1-64 of 0-9 * # A-D and , for a pause",
    |c| c.is_ascii_digit() || matches!(c, '*' | '#' | 'A'..='D' | ',')
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checked_strings_refuse_injection() {
        assert!(DtmfSequence::parse("12#*A,").is_ok());
        assert!(DtmfSequence::parse("12x").is_err());
        assert!(ConversationId::parse("a/b c?d").is_ok());
        assert!(ConversationId::parse("a\nb").is_err());
        let e = ConversationId::parse("\n".repeat(200)).unwrap_err();
        assert_eq!(e.value.len(), 64);
    }

    #[test]
    fn the_port_is_object_safe() {
        fn takes(_: Option<std::sync::Arc<dyn AgentOrchestrator>>) {}
        takes(None);
    }
}
