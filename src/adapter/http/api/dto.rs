//! Wire shapes of the call API. Requests reject unknown fields; they hold
//! plain strings that `validate` turns into domain types, so each failure
//! names its field and problem type.

use crate::application::ports::calls::{CallSummary, Page};
use serde::{Deserialize, Serialize};
use std::{collections::BTreeMap, time::SystemTime};
use utoipa::{IntoParams, ToSchema};

/// `POST /v1/calls`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCallRequest {
    /// Number to call, E.164 (`+` and 2-15 digits).
    #[schema(example = "+15551234567")]
    pub to: String,
    /// Caller id to present, E.164; the route's default when absent.
    pub from: Option<String>,
    /// The agent that talks. Absent: the tenant's default agent (the one its
    /// routes name, when they name exactly one); the response says which.
    #[schema(example = "sales.v2")]
    pub agent_id: Option<String>,
    /// Up to 32 string pairs (keys ≤ 64 chars, values ≤ 512), kept with the call.
    pub metadata: Option<BTreeMap<String, String>>,
    /// Seconds to let it ring, 5-120 (default 30).
    #[schema(minimum = 5, maximum = 120)]
    pub ring_timeout_secs: Option<u64>,
    /// Decide whether a person or an answering machine answered before the
    /// agent speaks (`answered_by` on the call, the `call.screened` event).
    pub detect_machine: Option<bool>,
    /// With `detect_machine`, what a machine gets: `continue` (the default:
    /// the agent talks, told a machine answered), `hangup`, or `message`
    /// (wait for the beep, say `machine_message`, hang up).
    pub machine_action: Option<MachineActionDto>,
    /// What to say to a machine with `machine_action = "message"`, 1-2000 characters.
    pub machine_message: Option<String>,
}

/// What an outbound call does when a machine answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MachineActionDto {
    /// Talk as to a person.
    Continue,
    /// Hang up.
    Hangup,
    /// Leave `machine_message` after the beep, then hang up.
    Message,
}

/// How a transfer is done.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TransferModeDto {
    /// Hand the caller over at once.
    Blind,
    /// Ring the person first (an E.164 number, or an extension the operator
    /// configured in `session.transfer_endpoints`; anything else is a 422),
    /// connect once they answer and the agent has finished its sentence; if
    /// nobody answers, the agent says so and the call goes on.
    Attended,
}

/// `POST /v1/calls/{id}/transfer`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    /// E.164 number or an extension of 1-20 digits.
    pub target: String,
    /// `blind` or `attended`.
    pub mode: TransferModeDto,
}

/// `POST /v1/calls/{id}/say`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SayRequest {
    /// Text to speak, 1-2000 characters.
    pub text: String,
    /// Speak now, cutting off what is being said (default: queue after it).
    #[serde(default)]
    pub interrupt: bool,
}

/// `POST /v1/calls/{id}/dtmf`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DtmfRequest {
    /// 1-32 of `0-9 * # A-D`.
    #[schema(example = "123#")]
    pub digits: String,
}

/// Query of `GET /v1/calls`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only calls in this state.
    pub state: Option<String>,
    /// Page size, 1-100 (default 20).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A call as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CallView {
    /// Id.
    pub call_id: String,
    /// Owner.
    pub tenant_id: String,
    /// `inbound` or `outbound`.
    pub direction: String,
    /// `originating | ringing | answered | active | transferring | ended`.
    pub state: String,
    /// Calling number.
    pub from: Option<String>,
    /// Called number or DID.
    pub to: Option<String>,
    /// The agent.
    pub agent_id: Option<String>,
    /// The agent's version, when the orchestrator names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_version: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339, when answered.
    pub answered_at: Option<String>,
    /// RFC 3339, when ended.
    pub ended_at: Option<String>,
    /// Why it ended.
    pub end_reason: Option<String>,
    /// The API client's metadata.
    pub metadata: BTreeMap<String, String>,
    /// Calls placed with `detect_machine`: `human`, `machine` or `unknown`
    /// once decided; absent before and for other calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_by: Option<String>,
}

fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

impl From<CallSummary> for CallView {
    fn from(c: CallSummary) -> Self {
        let direction = serde_json::to_value(c.direction)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        Self {
            call_id: c.call_id.to_string(),
            tenant_id: c.tenant_id.to_string(),
            direction,
            state: c.state,
            from: c.from,
            to: c.to,
            agent_id: c.agent_id.map(|a| a.to_string()),
            agent_version: c.agent_version,
            created_at: rfc3339(c.created_at),
            answered_at: c.answered_at.map(rfc3339),
            ended_at: c.ended_at.map(rfc3339),
            end_reason: c.end_reason,
            metadata: c.metadata,
            answered_by: c.answered_by.map(|a| a.as_str().to_owned()),
        }
    }
}

/// One page of calls, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CallPage {
    /// The calls.
    pub calls: Vec<CallView>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
}

impl From<Page> for CallPage {
    fn from(p: Page) -> Self {
        Self {
            calls: p.calls.into_iter().map(CallView::from).collect(),
            next_cursor: p.next_cursor,
        }
    }
}

/// Reply to hangup, transfer, say and dtmf: the gateway took the request on.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Accepted {
    /// The call.
    pub call_id: String,
    /// `hangup`, `transfer`, `say` or `dtmf`.
    pub action: String,
}
