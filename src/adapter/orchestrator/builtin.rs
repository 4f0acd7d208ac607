//! The built-in agent: what answers when no orchestrator is configured, so a
//! fresh gateway holds a (simple) conversation on any call.
//!
//! It greets, repeats back what it heard, transfers callers who ask for a
//! person or for billing, says goodbye and hangs up, reads back DTMF and
//! apologises when interrupted. Its replies stream word by word, like a real
//! orchestrator's, so the sentence splitter and TTS path run as in production.
//! It keeps no state: a turn's reply depends on that turn only.

use futures_util::stream;

use super::config::OrchestratorConfig;
use crate::application::ports::orchestrator::{
    Action, AgentOrchestrator, BoxFuture, Conversation, ConversationId, CreateConversation,
    OrchestratorError, ReplyPart, ReplyStream, TransferTarget, Turn,
};

/// What the built-in agent says first unless configured otherwise.
pub const DEFAULT_GREETING: &str =
    "Hello, this is the voice gateway's built-in assistant. How can I help you?";

/// Words that ask for a person (plural `s` is stripped before matching).
const PERSON_WORDS: &[&str] = &[
    "person",
    "people",
    "human",
    "agent",
    "operator",
    "representative",
    "billing",
];

/// Words that end the call.
const GOODBYE_WORDS: &[&str] = &["bye", "goodbye"];

/// The embedded [`AgentOrchestrator`].
#[derive(Debug, Clone)]
pub struct BuiltinAgent {
    greeting: String,
    transfer_target: TransferTarget,
}

impl BuiltinAgent {
    /// An agent with the greeting and transfer target of `config`; a
    /// transfer target that is not a valid name is refused.
    pub fn new(config: &OrchestratorConfig) -> Result<Self, crate::domain::TransferTargetError> {
        Ok(Self {
            greeting: config
                .greeting
                .clone()
                .filter(|g| !g.trim().is_empty())
                .unwrap_or_else(|| DEFAULT_GREETING.to_owned()),
            transfer_target: TransferTarget::parse(&config.transfer_target)?,
        })
    }

    /// The reply to one turn: its text and the action that follows it.
    fn reply(&self, turn: &Turn) -> (String, Option<Action>) {
        let said = turn.text.trim();
        let words: Vec<String> = said
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(|w| w.to_lowercase())
            .collect();
        let has = |list: &[&str]| {
            words.iter().any(|w| {
                list.contains(&w.as_str()) || w.strip_suffix('s').is_some_and(|s| list.contains(&s))
            })
        };
        let sorry = if turn.interrupted == Some(true) {
            "Sorry, go ahead. "
        } else {
            ""
        };
        if has(GOODBYE_WORDS) || words.windows(2).any(|w| w == ["good", "bye"]) {
            return ("Goodbye!".to_owned(), Some(Action::Hangup));
        }
        if has(PERSON_WORDS) {
            let target = self.transfer_target.clone();
            let text = format!("{sorry}Let me transfer you to a person. One moment, please.");
            return (text, Some(Action::Transfer { target }));
        }
        if let Some(digits) = turn.dtmf.as_deref().filter(|d| !d.is_empty()) {
            return (format!("{sorry}You pressed {digits}."), None);
        }
        if said.is_empty() {
            let text = match sorry {
                "" => "I didn't catch that. Could you say it again?".to_owned(),
                _ => "Sorry, go ahead.".to_owned(),
            };
            return (text, None);
        }
        let end = if said.ends_with(['.', '!', '?', '…']) {
            ""
        } else {
            "."
        };
        (format!("{sorry}You said: {said}{end}"), None)
    }
}

/// Splits `text` into word-sized chunks that keep their spaces, the way
/// language models stream.
fn chunks(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, _) in text.match_indices(' ') {
        out.push(text[start..i].to_owned());
        start = i;
    }
    out.push(text[start..].to_owned());
    out.retain(|c| !c.is_empty());
    out
}

impl AgentOrchestrator for BuiltinAgent {
    fn create_conversation(
        &self,
        request: CreateConversation,
    ) -> BoxFuture<'_, Result<Conversation, OrchestratorError>> {
        // The call id is a valid conversation id by construction.
        let id = ConversationId::parse(format!("builtin-{}", request.call_id))
            .map_err(|e| OrchestratorError::Malformed(e.to_string()));
        let greeting = self.greeting.clone();
        Box::pin(async move {
            Ok(Conversation {
                conversation_id: id?,
                greeting: Some(greeting),
            })
        })
    }

    fn send_turn(&self, _conversation: &ConversationId, turn: Turn) -> ReplyStream {
        let (text, action) = self.reply(&turn);
        let parts = chunks(&text)
            .into_iter()
            .map(ReplyPart::Text)
            .chain(action.map(ReplyPart::Action))
            .chain([ReplyPart::Done])
            .map(Ok);
        Box::pin(stream::iter(parts))
    }

    fn transfer<'a>(
        &'a self,
        _conversation: &'a ConversationId,
        _target: &'a TransferTarget,
    ) -> BoxFuture<'a, Result<(), OrchestratorError>> {
        Box::pin(async { Ok(()) })
    }
}

#[cfg(test)]
mod tests;
