//! States, phases and end reasons.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Who placed the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// A caller dialled a DID.
    Inbound,
    /// Placed through the HTTP API.
    Outbound,
}

/// What the conversation is doing while the call is active.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Hearing the caller.
    Listening,
    /// Waiting for the agent's reply.
    Thinking,
    /// Playing the agent's reply.
    Speaking,
}

/// Why a call ended.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// The caller hung up.
    CallerHangup,
    /// The agent (or the API) ended it.
    AgentHangup,
    /// Handed to a person.
    Transferred,
    /// Outbound: the far end was busy.
    Busy,
    /// Outbound: nobody answered in time.
    NoAnswer,
    /// Outbound: the network refused the call (cause code).
    Failed,
    /// The caller stayed silent through every reprompt.
    Silence,
    /// The DID has no route.
    UnknownDid,
    /// Refused before answer: the tenant's share of live calls was full.
    AtCapacity,
    /// Asterisk lost the channel (restart, reconnect resync).
    ChannelLost,
    /// The gateway shut down.
    Shutdown,
    /// The gateway process running the call died (SIGKILL, a crash); the
    /// next process of the same instance ended what was left of it.
    GatewayRestart,
    /// Outbound: an answering machine answered and the request said to hang
    /// up on one (after leaving its message, if it gave one).
    AnsweringMachine,
    /// A failure the call could not survive.
    Error(String),
}

impl fmt::Display for EndReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Error(e) => write!(f, "error: {e}"),
            other => {
                let v = serde_json::to_value(other).unwrap_or_default();
                f.write_str(v.as_str().unwrap_or("unknown"))
            }
        }
    }
}

impl EndReason {
    /// A stable label for metrics and events: the `Display` text, but `error`
    /// for every error (its text goes in the event's `detail`).
    pub fn label(&self) -> String {
        match self {
            Self::Error(_) => "error".into(),
            other => other.to_string(),
        }
    }
}

/// The state of a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum CallState {
    /// Known to the gateway, nothing sent yet.
    Created,
    /// Outbound: originate sent, no ringing yet.
    Originating,
    /// Ringing (inbound: in Stasis, not answered yet).
    Ringing,
    /// Answered; media being set up.
    Answered,
    /// In conversation.
    Active {
        /// What the conversation is doing.
        phase: Phase,
    },
    /// Being handed to a person.
    Transferring,
    /// Outbound: busy.
    Busy,
    /// Outbound: no answer.
    NoAnswer,
    /// Outbound: failed.
    Failed,
    /// Over.
    Ended {
        /// Why.
        reason: EndReason,
    },
}

impl CallState {
    /// Whether no further transition is possible.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Self::Busy | Self::NoAnswer | Self::Failed | Self::Ended { .. }
        )
    }

    /// The coarse name stored in the live call record
    /// (`ringing | answered | active | transferring | ended`).
    pub fn record_name(&self) -> &'static str {
        match self {
            Self::Created | Self::Originating | Self::Ringing => "ringing",
            Self::Answered => "answered",
            Self::Active { .. } => "active",
            Self::Transferring => "transferring",
            Self::Busy | Self::NoAnswer | Self::Failed | Self::Ended { .. } => "ended",
        }
    }
}

impl fmt::Display for CallState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Active { phase } => write!(f, "active({phase:?})"),
            Self::Ended { reason } => write!(f, "ended({reason})"),
            other => write!(f, "{other:?}"),
        }
    }
}
