//! The orchestrator's JSON shapes, kept apart from the port's types so the
//! contract can change here without touching the application.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::application::ports::orchestrator::{
    Action, AgentInfo, CreateConversation, DtmfSequence, OrchestratorError, ReplyPart,
    TransferTarget, Turn,
};
use crate::domain::{AgentId, call::Direction};

/// Body of `POST /api/v1/conversations`.
#[derive(Debug, Serialize)]
pub(super) struct CreateBody<'a> {
    call_id: &'a str,
    tenant_id: &'a str,
    agent_id: &'a str,
    direction: Direction,
    #[serde(skip_serializing_if = "Option::is_none")]
    caller: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    callee: Option<&'a str>,
    language: &'a str,
    metadata: &'a BTreeMap<String, String>,
}

impl<'a> From<&'a CreateConversation> for CreateBody<'a> {
    fn from(r: &'a CreateConversation) -> Self {
        Self {
            call_id: r.call_id.as_str(),
            tenant_id: r.tenant_id.as_str(),
            agent_id: r.agent_id.as_str(),
            direction: r.direction,
            caller: r.caller.as_ref().map(|d| d.as_str()),
            callee: r.callee.as_ref().map(|d| d.as_str()),
            language: &r.language,
            metadata: &r.metadata,
        }
    }
}

/// Reply of `POST /api/v1/conversations`.
#[derive(Debug, Deserialize)]
pub(super) struct Created {
    pub(super) conversation_id: String,
    #[serde(default)]
    pub(super) greeting: Option<String>,
}

/// Reply of `GET /api/v1/conversations/{id}/agent`.
#[derive(Debug, Deserialize)]
pub(super) struct AgentBody {
    pub(super) agent_id: String,
    #[serde(default)]
    pub(super) version: Option<String>,
}

/// Checks an agent reply: a valid agent id, a version of 1-64 visible characters.
pub(super) fn parse_agent(body: &[u8]) -> Result<AgentInfo, String> {
    let b: AgentBody = serde_json::from_slice(body).map_err(|e| format!("agent reply: {e}"))?;
    let agent_id = AgentId::parse(b.agent_id).map_err(|e| format!("agent reply: agent_id: {e}"))?;
    if let Some(v) = &b.version
        && (v.is_empty() || v.len() > 64 || !v.bytes().all(|c| c.is_ascii_graphic()))
    {
        return Err(format!(
            "agent reply: version {v:?} is not 1-64 visible characters"
        ));
    }
    Ok(AgentInfo {
        agent_id,
        version: b.version,
    })
}

/// Body of `POST /api/v1/conversations/{id}/turns`.
#[derive(Debug, Serialize)]
pub(super) struct TurnBody {
    text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    interrupted: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    heard_text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dtmf: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    superseded: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resumed_after_takeover: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    answered_by: Option<crate::domain::screening::AnsweredBy>,
}

impl From<Turn> for TurnBody {
    fn from(t: Turn) -> Self {
        Self {
            text: t.text,
            interrupted: t.interrupted,
            heard_text: t.heard_text,
            dtmf: t.dtmf,
            superseded: t.superseded,
            resumed_after_takeover: t.resumed_after_takeover,
            answered_by: t.answered_by,
        }
    }
}

/// Body of `POST /api/v1/conversations/{id}/transfer`.
#[derive(Debug, Serialize)]
pub(super) struct TransferBody<'a> {
    pub(super) target: &'a str,
}

/// One object of a reply: the whole JSON reply, one SSE `data`, one NDJSON
/// line. Unknown fields are ignored so the orchestrator can add some.
#[derive(Debug, Default, Deserialize)]
pub(super) struct Delta {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    action: Option<WireAction>,
    #[serde(default)]
    actions: Vec<WireAction>,
    #[serde(default)]
    done: bool,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireAction {
    Transfer { target: String },
    Hangup,
    SendDtmf { digits: String },
    SecureInput,
}

impl WireAction {
    fn checked(self) -> Result<Action, OrchestratorError> {
        let bad = |e: crate::application::ports::orchestrator::ValueError| {
            OrchestratorError::Malformed(e.to_string())
        };
        Ok(match self {
            Self::Transfer { target } => Action::Transfer {
                target: TransferTarget::parse(&target)
                    .map_err(|e| OrchestratorError::Malformed(e.to_string()))?,
            },
            Self::Hangup => Action::Hangup,
            Self::SendDtmf { digits } => Action::SendDtmf {
                digits: DtmfSequence::parse(digits).map_err(bad)?,
            },
            Self::SecureInput => Action::SecureInput,
        })
    }
}

/// Parses one reply object, naming the offending field when it fails.
pub(super) fn parse_delta(bytes: &[u8]) -> Result<Delta, OrchestratorError> {
    // serde would also read a struct from an array; the contract says object.
    if let Some(b) = bytes.iter().find(|b| !b.is_ascii_whitespace())
        && *b != b'{'
    {
        return Err(OrchestratorError::Malformed(
            "expected a JSON object".to_owned(),
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        OrchestratorError::Malformed(format!("at `{path}`: {}", e.into_inner()))
    })
}

impl Delta {
    /// The parts this object stands for, in order: error, text, actions, done.
    pub(super) fn into_parts(
        self,
        mut emit: impl FnMut(ReplyPart) -> Result<(), OrchestratorError>,
    ) -> Result<(), OrchestratorError> {
        if let Some(e) = self.error {
            return Err(OrchestratorError::Agent(error_message(&e)));
        }
        if let Some(text) = self.text.filter(|t| !t.is_empty()) {
            emit(ReplyPart::Text(text))?;
        }
        for a in self.action.into_iter().chain(self.actions) {
            emit(ReplyPart::Action(a.checked()?))?;
        }
        if self.done {
            emit(ReplyPart::Done)?;
        }
        Ok(())
    }
}

/// Longest message kept from an error body.
const MAX_MESSAGE: usize = 200;

/// The message of an error value: `"text"`, `{"message": ..}`,
/// `{"error": ..}` (nested), `{"detail": ..}`; anything else as compact JSON.
pub(super) fn error_message(v: &serde_json::Value) -> String {
    let found = match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Object(o) => ["message", "error", "detail"]
            .iter()
            .find_map(|k| o.get(*k))
            .map(error_message),
        _ => None,
    };
    truncate(found.unwrap_or_else(|| v.to_string()))
}

/// The message of an error body: JSON as in [`error_message`], or raw text.
pub(super) fn body_message(body: &[u8]) -> String {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(v) => error_message(&v),
        Err(_) => truncate(String::from_utf8_lossy(body).trim().to_owned()),
    }
}

fn truncate(mut s: String) -> String {
    if let Some((i, _)) = s.char_indices().nth(MAX_MESSAGE) {
        s.truncate(i);
        s.push('…');
    }
    s
}
