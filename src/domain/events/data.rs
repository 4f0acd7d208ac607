//! The `data` of each call event: one variant per catalog type, serialised to
//! the object `schemas/events/<type>.json` describes. The envelope adds the
//! tenant id, the call id and the schema version; [`CallContext`] the fields
//! every event of a call carries.

use super::{EventType, TurnLatency};
use crate::domain::{
    AgentId, Did, E164, TransferMode, TransferTarget,
    call::{Direction, EndReason},
    screening::AnsweredBy,
};
use serde::{Serialize, Serializer, ser::SerializeMap};
use std::collections::BTreeMap;

/// The fields every event of a call carries beside its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallContext {
    /// Inbound or outbound.
    pub direction: Direction,
    /// The caller's Asterisk channel; the router's events about an outbound
    /// call not yet answered have none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel_id: Option<String>,
    /// The agent answering the call, once it is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<AgentId>,
}

/// What one call event says, by type.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum EventData {
    /// `call.started`.
    CallStarted(Started),
    /// `call.ringing`: nothing of its own.
    CallRinging {},
    /// `call.answered`.
    CallAnswered(Answered),
    /// `call.ended`.
    CallEnded(Ended),
    /// `stt.transcribed`.
    SttTranscribed(Transcribed),
    /// `agent.responded`.
    AgentResponded(Responded),
    /// `tts.generated`.
    TtsGenerated(Generated),
    /// `call.bargein`.
    CallBargein(BargeIn),
    /// `call.screened`.
    CallScreened(Screened),
    /// `call.dtmf`.
    CallDtmf(Dtmf),
    /// `call.transferred`.
    CallTransferred(Transferred),
    /// `call.escalated`.
    CallEscalated(Escalated),
    /// `error.stt_failed`.
    SttFailed(SttFailed),
    /// `error.llm_timeout`.
    LlmTimeout(LlmTimeout),
    /// `error.tts_failed`.
    TtsFailed(TtsFailed),
}

impl EventData {
    /// The same data with every transcript emptied: what the caller said,
    /// what the agent said and what was heard before a barge-in. For tenants
    /// that keep no transcripts, in events as in stored records.
    pub fn without_transcripts(mut self) -> Self {
        match &mut self {
            Self::SttTranscribed(t) => t.text.clear(),
            Self::AgentResponded(Responded::Reply { text, .. }) => text.clear(),
            Self::TtsGenerated(g) => g.text.clear(),
            Self::CallBargein(b) => b.heard_text.clear(),
            _ => {}
        }
        self
    }

    /// The catalog type this data belongs to.
    pub fn event_type(&self) -> EventType {
        match self {
            Self::CallStarted(_) => EventType::CallStarted,
            Self::CallRinging {} => EventType::CallRinging,
            Self::CallAnswered(_) => EventType::CallAnswered,
            Self::CallEnded(_) => EventType::CallEnded,
            Self::SttTranscribed(_) => EventType::SttTranscribed,
            Self::AgentResponded(_) => EventType::AgentResponded,
            Self::TtsGenerated(_) => EventType::TtsGenerated,
            Self::CallBargein(_) => EventType::CallBargein,
            Self::CallScreened(_) => EventType::CallScreened,
            Self::CallDtmf(_) => EventType::CallDtmf,
            Self::CallTransferred(_) => EventType::CallTransferred,
            Self::CallEscalated(_) => EventType::CallEscalated,
            Self::SttFailed(_) => EventType::SttFailed,
            Self::LlmTimeout(_) => EventType::LlmTimeout,
            Self::TtsFailed(_) => EventType::TtsFailed,
        }
    }

    /// The event's `data` object: its own fields and the call's.
    pub fn to_json(&self, context: &CallContext) -> serde_json::Value {
        #[derive(Serialize)]
        struct Both<'a> {
            #[serde(flatten)]
            data: &'a EventData,
            #[serde(flatten)]
            context: &'a CallContext,
        }
        serde_json::to_value(Both {
            data: self,
            context,
        })
        .expect("event data serialises to an object")
    }
}

/// `call.started`: where the call came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Started {
    /// A caller dialled a DID.
    Inbound {
        /// The dialled number.
        did: Did,
        /// The caller's number as Asterisk reports it (may be empty).
        caller_number: String,
    },
    /// Placed through the API.
    Outbound {
        /// The number called.
        to: E164,
        /// The caller id presented (`null` when none was asked for).
        from: Option<E164>,
        /// The API client's metadata.
        metadata: BTreeMap<String, String>,
    },
}

/// `call.ended`: why, and the call's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ended {
    /// Serialised as `reason` (a stable label) and `detail` (its text).
    #[serde(flatten, serialize_with = "reason_and_detail")]
    pub reason: EndReason,
    /// From answer (or start) to end.
    pub duration_ms: u64,
    /// Whether it was answered.
    pub answered: bool,
    /// Caller turns.
    pub turns: u32,
    /// The conversation's figures; absent for an outbound call never answered.
    #[serde(flatten)]
    pub conversation: Option<Conversation>,
    /// The speech providers; absent when the instance lets no route choose.
    #[serde(flatten)]
    pub providers: Option<Providers>,
    /// The call's distributed trace (W3C trace id, 32 hex digits); absent
    /// when traces are off or the call was not sampled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
}

fn reason_and_detail<S: Serializer>(reason: &EndReason, s: S) -> Result<S::Ok, S::Error> {
    let mut m = s.serialize_map(Some(2))?;
    m.serialize_entry("reason", &reason.label())?;
    m.serialize_entry("detail", &reason.to_string())?;
    m.end()
}

/// What `call.ended` reports of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Conversation {
    /// Times the caller interrupted the agent.
    pub barge_ins: u32,
    /// Per-turn figures, in turn order.
    pub latency: Vec<TurnLatency>,
}

/// The speech providers a call used, primary first then its fallbacks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Providers {
    /// Speech-to-text.
    pub stt_providers: Vec<String>,
    /// Text-to-speech.
    pub tts_providers: Vec<String>,
}

/// `stt.transcribed`: the caller's turn.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Transcribed {
    /// What the caller said, masked.
    pub text: String,
    /// The recogniser's confidence (`null` when it gave none).
    pub confidence: Option<f32>,
    /// The turn's number, from 1.
    pub turn: u32,
}

/// `agent.responded`: how the agent's reply began.
#[derive(Debug, Clone, PartialEq)]
pub enum Responded {
    /// The reply's first sentence (masked) and the agent's time to its first
    /// token (`null` when not measured).
    Reply {
        /// The sentence.
        text: String,
        /// Request → first token.
        latency_ms: Option<f64>,
    },
    /// Nothing to say (an action alone, or an empty reply): `text` is empty.
    NothingToSay,
    /// Speech failed and the failure prompt plays in its place.
    Prompt,
}

impl Serialize for Responded {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        match self {
            Self::Reply { text, latency_ms } => {
                m.serialize_entry("text", text)?;
                m.serialize_entry("latency_ms", latency_ms)?;
            }
            Self::NothingToSay => m.serialize_entry("text", "")?,
            Self::Prompt => m.serialize_entry("prompt", &true)?,
        }
        m.end()
    }
}

/// `tts.generated`: what the agent said.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Generated {
    /// The speech, masked.
    pub text: String,
    /// Its audio.
    pub audio_ms: u64,
    /// The reply's stage figures, the entry `call.ended` will list for it
    /// (absent when the reply played nothing or had no request to time).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency: Option<TurnLatency>,
}

/// `call.bargein`: what the caller heard before interrupting.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BargeIn {
    /// The words that were played, masked.
    pub heard_text: String,
    /// Audio played before the cut.
    pub heard_ms: u64,
    /// Audio cut.
    pub dropped_ms: u64,
    /// Onset of the caller's speech → last packet out (`null` when unknown).
    pub delay_ms: Option<f64>,
    /// Pause mode: what the caller said over the agent, masked, when its
    /// transcript decided the barge-in (absent otherwise: the caller's next
    /// `stt.transcribed` says it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caller_text: Option<String>,
    /// The cut reply's stage figures, as for `tts.generated`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency: Option<TurnLatency>,
}

/// `call.answered`: how the call's audio is carried and recognised, once
/// the gateway knows (an inbound call's route, an outbound call's request).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Answered {
    /// `rtp`, `audiosocket` or `websocket`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transport: Option<&'static str>,
    /// Speech-to-text providers, primary first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stt_providers: Vec<String>,
    /// Text-to-speech providers, primary first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tts_providers: Vec<String>,
}

/// `call.screened`: who answered an outbound call that asked
/// (`detect_machine`), and what the call does about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Screened {
    /// `human`, `machine` or `unknown`.
    pub answered_by: AnsweredBy,
    /// What decided: `beep`, `long_greeting`, `many_utterances`,
    /// `short_greeting`, `silence` or `timeout`.
    pub reason: &'static str,
    /// From the start of listening (media up after the answer) to the decision.
    pub decision_ms: u64,
    /// What follows: `converse`, or for a machine what the request said:
    /// `continue`, `hangup` or `message`.
    pub action: &'static str,
}

/// `call.dtmf`: the key pressed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dtmf {
    /// `0`-`9`, `A`-`D`, `*` or `#`; absent unless the operator lets digits
    /// into events (`session.dtmf_in_events`) and the input is not secure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digit: Option<char>,
    /// The key is held back: a key was pressed, which one is not said.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub masked: bool,
}

/// `call.transferred`: the person who took the call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Transferred {
    /// Where to.
    pub target: TransferTarget,
    /// How.
    pub mode: TransferMode,
}

/// `call.escalated`: a transfer began, or failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Escalated {
    /// Where to.
    pub target: TransferTarget,
    /// How.
    pub mode: TransferMode,
    /// `status`, and for a failure why.
    #[serde(flatten)]
    pub status: Escalation,
}

/// Where a transfer stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Escalation {
    /// The transfer began.
    Started,
    /// Nobody took the call: back to the AI.
    Failed {
        /// Why.
        outcome: TransferFailure,
        /// What failed, when something did: absent for a person who was busy
        /// or did not answer (the schema has no `null` for it).
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
}

/// Why a transfer failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferFailure {
    /// The person was busy.
    Busy,
    /// It rang out.
    NoAnswer,
    /// Refused by the network, a target that reaches nobody, or a failed request.
    Failed,
    /// The dialing policy does not allow the target (never dialled).
    NotAllowed,
}

/// `error.stt_failed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SttFailed {
    /// What failed.
    pub error: String,
    /// Failures in a row; absent when the stream could not be opened at all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempt: Option<u32>,
    /// The call's speech-to-text providers, primary first.
    pub providers: Vec<String>,
}

/// `error.llm_timeout`: the agent's reply failed (its error says how).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LlmTimeout {
    /// What failed.
    pub error: String,
}

/// `error.tts_failed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TtsFailed {
    /// What failed.
    pub error: String,
    /// Whether the failure prompt played in place of the speech.
    pub prompt: bool,
    /// The call's text-to-speech providers, primary first.
    pub providers: Vec<String>,
}
