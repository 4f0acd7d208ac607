//! The call-control port: what the HTTP API asks of the gateway's calls.
//!
//! The API adapter authenticates the request and extracts the tenant; every
//! method here takes that tenant and only ever sees, changes or lists that
//! tenant's calls (another tenant's call is `NotFound`, never `Forbidden`, so
//! its existence does not leak). Implemented by the gateway's call router.

use super::orchestrator::BoxFuture;
use crate::domain::{
    AgentId, CallId, DtmfDigits, E164, SayText, TenantId, TransferTarget, call::Direction,
};
use serde::Serialize;
use std::{collections::BTreeMap, time::Duration, time::SystemTime};

/// An outbound call to place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginateCall {
    /// The tenant placing it (from the token).
    pub tenant: TenantId,
    /// Who to call.
    pub to: E164,
    /// Caller id to present; the route's default when absent.
    pub from: Option<E164>,
    /// The agent that talks; `None`: the tenant's default agent, the one its
    /// routes name when they name exactly one.
    pub agent: Option<AgentId>,
    /// How long to let it ring.
    pub ring_timeout: Duration,
    /// The API client's metadata, kept with the call and in its events.
    pub metadata: BTreeMap<String, String>,
    /// Detect an answering machine before the agent speaks, and what a
    /// machine gets; `None`: no detection.
    pub detect_machine: Option<crate::domain::screening::OnMachine>,
}

/// A call as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallSummary {
    /// Id.
    pub call_id: CallId,
    /// Owner.
    pub tenant_id: TenantId,
    /// Inbound or outbound.
    pub direction: Direction,
    /// `originating | ringing | answered | active | transferring | ended`.
    pub state: String,
    /// Calling number (as Asterisk reported it for inbound calls).
    pub from: Option<String>,
    /// Called number or DID.
    pub to: Option<String>,
    /// The agent.
    pub agent_id: Option<AgentId>,
    /// The agent's version, when the orchestrator says which
    /// (`GET /api/v1/conversations/{id}/agent`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_version: Option<String>,
    /// When the gateway took it on.
    #[serde(with = "rfc3339")]
    pub created_at: SystemTime,
    /// When answered.
    #[serde(with = "rfc3339_opt")]
    pub answered_at: Option<SystemTime>,
    /// When it ended.
    #[serde(with = "rfc3339_opt")]
    pub ended_at: Option<SystemTime>,
    /// Why it ended (`caller_hangup`, `busy`, `no_answer`, …).
    pub end_reason: Option<String>,
    /// The API client's metadata.
    pub metadata: BTreeMap<String, String>,
    /// Outbound calls placed with `detect_machine`: `human`, `machine` or
    /// `unknown` once decided.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answered_by: Option<crate::domain::screening::AnsweredBy>,
    /// What another gateway instance needs to take the live call over
    /// (`[ha]`); never shown by the API.
    #[serde(skip)]
    pub resume: Option<Resume>,
}

/// Where a live call stands on Asterisk and with the agent, so that another
/// instance can re-attach its audio and go on with its conversation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Resume {
    /// The caller's channel (the callee's, outbound).
    pub caller: String,
    /// The orchestrator's conversation, once opened.
    pub conversation: Option<String>,
    /// The highest `sequence` the call's events may have used so far: it is
    /// stored before the events it covers are published, so an instance
    /// that takes the call over goes on from the next number and never
    /// reuses one (0: none yet).
    pub sequence: u64,
    /// An outbound call still ringing: what its request's `detect_machine`
    /// asked (`None`: no screening), so that its answer is screened the
    /// same way by whichever instance sees it.
    pub screen: Option<crate::domain::screening::OnMachine>,
    /// A call in an attended transfer: whom the person's leg rings, so that
    /// another instance follows the leg on instead of dropping the caller.
    pub transfer: Option<crate::domain::TransferTarget>,
}

/// Which calls to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilter {
    /// Only calls in this state (`CallSummary::state`).
    pub state: Option<String>,
    /// At most this many (the adapter bounds it).
    pub limit: usize,
    /// Opaque position from a previous page.
    pub cursor: Option<String>,
}

/// One page of calls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Page {
    /// The calls, newest first.
    pub calls: Vec<CallSummary>,
    /// Where the next page starts; absent on the last page.
    pub next_cursor: Option<String>,
}

pub use crate::domain::transfer::TransferMode;

/// Why a control request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    /// No such call for this tenant.
    #[error("no such call")]
    NotFound,
    /// The call is not in a state that allows it (e.g. already ended).
    #[error("the call cannot do that now: {0}")]
    Conflict(String),
    /// The gateway is draining.
    #[error("the gateway is shutting down and takes no new calls")]
    Draining,
    /// This instance does not receive Asterisk's events (another connection
    /// took the Stasis app over, or it is shutting down): it cannot follow a
    /// call, so it takes no request for one.
    #[error("{0}")]
    NotListening(String),
    /// The instance or the tenant holds as many live calls as it may.
    #[error("{0}")]
    AtCapacity(String),
    /// The dialing policy does not allow this destination or caller id;
    /// the message names the rule.
    #[error("{0}")]
    NotAllowed(String),
    /// The request names something that cannot be used (e.g. a transfer target).
    #[error("{0}")]
    Invalid(String),
    /// Asterisk (or another dependency) failed.
    #[error("telephony unavailable: {0}")]
    Unavailable(#[source] super::Cause),
}

/// Call control for the HTTP API.
pub trait CallControl: Send + Sync {
    /// Places an outbound call; returns at once in state `originating`.
    fn originate(&self, request: OriginateCall)
    -> BoxFuture<'_, Result<CallSummary, ControlError>>;
    /// One call of the tenant.
    fn get<'a>(
        &'a self,
        tenant: &'a TenantId,
        call: &'a CallId,
    ) -> BoxFuture<'a, Result<CallSummary, ControlError>>;
    /// The tenant's calls.
    fn list<'a>(
        &'a self,
        tenant: &'a TenantId,
        filter: ListFilter,
    ) -> BoxFuture<'a, Result<Page, ControlError>>;
    /// Ends a call.
    fn hangup<'a>(
        &'a self,
        tenant: &'a TenantId,
        call: &'a CallId,
    ) -> BoxFuture<'a, Result<(), ControlError>>;
    /// Transfers a call to a number or extension (an attended transfer to
    /// anything but a number needs it configured).
    fn transfer<'a>(
        &'a self,
        tenant: &'a TenantId,
        call: &'a CallId,
        target: TransferTarget,
        mode: TransferMode,
    ) -> BoxFuture<'a, Result<(), ControlError>>;
    /// Speaks text now (`interrupt`) or after what is being said.
    fn say<'a>(
        &'a self,
        tenant: &'a TenantId,
        call: &'a CallId,
        text: SayText,
        interrupt: bool,
    ) -> BoxFuture<'a, Result<(), ControlError>>;
    /// Sends DTMF digits to the far end.
    fn dtmf<'a>(
        &'a self,
        tenant: &'a TenantId,
        call: &'a CallId,
        digits: DtmfDigits,
    ) -> BoxFuture<'a, Result<(), ControlError>>;
}

mod rfc3339 {
    use std::time::SystemTime;
    pub(super) fn serialize<S: serde::Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&humantime::format_rfc3339_millis(*t))
    }
}

mod rfc3339_opt {
    use std::time::SystemTime;
    pub(super) fn serialize<S: serde::Serializer>(
        t: &Option<SystemTime>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.collect_str(&humantime::format_rfc3339_millis(*t)),
            None => s.serialize_none(),
        }
    }
}
