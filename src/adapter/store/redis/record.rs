//! The JSON kept in Redis for one call: the call summary as the API shows it,
//! plus what other instances need (the owner, the version). Times are
//! RFC 3339 with nanoseconds, so a record reads back exactly as written.

use crate::{
    application::ports::calls::{CallSummary, Resume},
    domain::{
        AgentId, CallId, SayText, TenantId, TransferTarget,
        call::Direction,
        screening::{AnsweredBy, OnMachine},
    },
};
use serde::{Deserialize, Serialize};
use std::{collections::BTreeMap, time::SystemTime};

/// One call as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct StoredCall {
    call_id: CallId,
    tenant_id: TenantId,
    direction: Direction,
    state: String,
    from: Option<String>,
    to: Option<String>,
    agent_id: Option<AgentId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    agent_version: Option<String>,
    created_at: String,
    answered_at: Option<String>,
    ended_at: Option<String>,
    end_reason: Option<String>,
    #[serde(default)]
    metadata: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    answered_by: Option<AnsweredBy>,
    /// The instance that runs the call.
    pub(super) gateway_instance: String,
    /// Compared and set by the write script: higher wins.
    pub(super) version: u64,
    /// The caller's channel, for another instance to take the call over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    resume_caller: Option<String>,
    /// The orchestrator's conversation, likewise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    resume_conversation: Option<String>,
    /// An outbound call still ringing: the screening its request asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    resume_screen: Option<StoredScreen>,
    /// A call in an attended transfer: the person's target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    resume_transfer: Option<String>,
    /// The highest event sequence number the call may have used (0, omitted: none).
    #[serde(default, skip_serializing_if = "is_zero")]
    sequence: u64,
    /// The lease's fencing token of the writer (0, omitted: no HA).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub(super) fence: u64,
}

/// [`OnMachine`] as stored: `{"on_machine":"message","text":"..."}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "on_machine", content = "text", rename_all = "snake_case")]
enum StoredScreen {
    Continue,
    Hangup,
    Message(String),
}

impl StoredScreen {
    fn new(on: &OnMachine) -> Self {
        match on {
            OnMachine::Continue => Self::Continue,
            OnMachine::Hangup => Self::Hangup,
            OnMachine::Message(text) => Self::Message(text.as_str().to_owned()),
        }
    }

    /// `None` for a message that is no longer a valid one.
    fn on_machine(self) -> Option<OnMachine> {
        Some(match self {
            Self::Continue => OnMachine::Continue,
            Self::Hangup => OnMachine::Hangup,
            Self::Message(text) => OnMachine::Message(SayText::parse(text).ok()?),
        })
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn time(t: SystemTime) -> String {
    humantime::format_rfc3339_nanos(t).to_string()
}

fn parse(s: &str) -> Option<SystemTime> {
    humantime::parse_rfc3339(s).ok()
}

impl StoredCall {
    pub(super) fn new(c: &CallSummary, gateway_instance: &str, version: u64, fence: u64) -> Self {
        Self {
            call_id: c.call_id.clone(),
            tenant_id: c.tenant_id.clone(),
            direction: c.direction,
            state: c.state.clone(),
            from: c.from.clone(),
            to: c.to.clone(),
            agent_id: c.agent_id.clone(),
            agent_version: c.agent_version.clone(),
            created_at: time(c.created_at),
            answered_at: c.answered_at.map(time),
            ended_at: c.ended_at.map(time),
            end_reason: c.end_reason.clone(),
            metadata: c.metadata.clone(),
            answered_by: c.answered_by,
            gateway_instance: gateway_instance.to_owned(),
            version,
            resume_caller: c.resume.as_ref().map(|r| r.caller.clone()),
            resume_conversation: c.resume.as_ref().and_then(|r| r.conversation.clone()),
            resume_screen: (c.resume.as_ref())
                .and_then(|r| r.screen.as_ref())
                .map(StoredScreen::new),
            resume_transfer: (c.resume.as_ref())
                .and_then(|r| r.transfer.as_ref())
                .map(|t| t.as_str().to_owned()),
            sequence: c.resume.as_ref().map_or(0, |r| r.sequence),
            fence,
        }
    }

    /// The summary, or `None` when a time does not parse (a record written
    /// by something else: skipped rather than failing the whole read).
    pub(super) fn summary(self) -> Option<CallSummary> {
        let opt = |t: Option<String>| match t {
            Some(s) => parse(&s).map(Some),
            None => Some(None),
        };
        Some(CallSummary {
            call_id: self.call_id,
            tenant_id: self.tenant_id,
            direction: self.direction,
            state: self.state,
            from: self.from,
            to: self.to,
            agent_id: self.agent_id,
            agent_version: self.agent_version,
            created_at: parse(&self.created_at)?,
            answered_at: opt(self.answered_at)?,
            ended_at: opt(self.ended_at)?,
            end_reason: self.end_reason,
            metadata: self.metadata,
            answered_by: self.answered_by,
            resume: self.resume_caller.map(|caller| Resume {
                caller,
                conversation: self.resume_conversation,
                sequence: self.sequence,
                screen: self.resume_screen.and_then(StoredScreen::on_machine),
                transfer: (self.resume_transfer.as_deref())
                    .and_then(|t| TransferTarget::parse(t).ok()),
            }),
        })
    }

    /// Decodes a stored JSON record; `None` (and a warning) when it is not one.
    pub(super) fn decode(json: &str) -> Option<CallSummary> {
        match serde_json::from_str::<StoredCall>(json) {
            Ok(s) => s.summary(),
            Err(e) => {
                tracing::warn!(error = %e, "skipping a call record that does not decode");
                None
            }
        }
    }
}

/// The sort score of a call: its creation time in microseconds (Redis keeps
/// scores as doubles, exact for integers this size for centuries to come).
pub(super) fn score(c: &CallSummary) -> u64 {
    c.created_at
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_micros() as u64
}
