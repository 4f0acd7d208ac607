//! The event catalog (see DESIGN.md): every call event the gateway publishes.

mod data;
mod latency;

pub use data::{
    Answered, BargeIn, CallContext, Conversation, Dtmf, Ended, Escalated, Escalation, EventData,
    Generated, LlmTimeout, Providers, Responded, Screened, Started, SttFailed, Transcribed,
    TransferFailure, Transferred, TtsFailed,
};
pub use latency::TurnLatency;

use serde::{Deserialize, Serialize};
use std::fmt;

/// The `type` of a published call event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventType {
    /// A call entered the gateway (inbound StasisStart or outbound originate).
    #[serde(rename = "call.started")]
    CallStarted,
    /// The far end is ringing (outbound).
    #[serde(rename = "call.ringing")]
    CallRinging,
    /// The call was answered.
    #[serde(rename = "call.answered")]
    CallAnswered,
    /// The call ended, with reason and figures.
    #[serde(rename = "call.ended")]
    CallEnded,
    /// The caller's turn was transcribed.
    #[serde(rename = "stt.transcribed")]
    SttTranscribed,
    /// The agent replied (older platform documents: `llm.responded`).
    #[serde(rename = "agent.responded")]
    AgentResponded,
    /// The reply was spoken.
    #[serde(rename = "tts.generated")]
    TtsGenerated,
    /// The caller interrupted the agent.
    #[serde(rename = "call.bargein")]
    CallBargein,
    /// Outbound: who answered, a person or a machine, was decided.
    #[serde(rename = "call.screened")]
    CallScreened,
    /// The caller pressed a key.
    #[serde(rename = "call.dtmf")]
    CallDtmf,
    /// The call was handed over to a person and left the gateway.
    #[serde(rename = "call.transferred")]
    CallTransferred,
    /// A transfer to a person began.
    #[serde(rename = "call.escalated")]
    CallEscalated,
    /// Speech recognition failed.
    #[serde(rename = "error.stt_failed")]
    SttFailed,
    /// The agent did not reply in time.
    #[serde(rename = "error.llm_timeout")]
    LlmTimeout,
    /// Speech synthesis failed.
    #[serde(rename = "error.tts_failed")]
    TtsFailed,
}

impl EventType {
    /// Every type, in catalog order.
    pub const ALL: [EventType; 15] = [
        Self::CallStarted,
        Self::CallRinging,
        Self::CallAnswered,
        Self::CallEnded,
        Self::SttTranscribed,
        Self::AgentResponded,
        Self::TtsGenerated,
        Self::CallBargein,
        Self::CallScreened,
        Self::CallDtmf,
        Self::CallTransferred,
        Self::CallEscalated,
        Self::SttFailed,
        Self::LlmTimeout,
        Self::TtsFailed,
    ];

    /// The wire name, e.g. `call.started`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CallStarted => "call.started",
            Self::CallRinging => "call.ringing",
            Self::CallAnswered => "call.answered",
            Self::CallEnded => "call.ended",
            Self::SttTranscribed => "stt.transcribed",
            Self::AgentResponded => "agent.responded",
            Self::TtsGenerated => "tts.generated",
            Self::CallBargein => "call.bargein",
            Self::CallScreened => "call.screened",
            Self::CallDtmf => "call.dtmf",
            Self::CallTransferred => "call.transferred",
            Self::CallEscalated => "call.escalated",
            Self::SttFailed => "error.stt_failed",
            Self::LlmTimeout => "error.llm_timeout",
            Self::TtsFailed => "error.tts_failed",
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod data_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_match_serde_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for t in EventType::ALL {
            assert_eq!(serde_json::to_value(t).unwrap(), t.as_str());
            assert!(seen.insert(t.as_str()));
        }
        assert_eq!(
            serde_json::from_str::<EventType>("\"agent.responded\"").unwrap(),
            EventType::AgentResponded
        );
    }
}
