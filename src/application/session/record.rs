//! The call's record as the store and the API show it.

use crate::{
    application::ports::calls::CallSummary,
    domain::{
        AgentId, CallId, TenantId,
        call::{Call, CallState},
    },
};
use std::collections::BTreeMap;

/// Builds the record of a call from its lifecycle.
pub fn summary(
    call_id: &CallId,
    tenant: &TenantId,
    call: &Call,
    from: Option<String>,
    to: Option<String>,
    agent: Option<(AgentId, Option<String>)>,
    metadata: &BTreeMap<String, String>,
) -> CallSummary {
    let state = match call.state() {
        CallState::Created | CallState::Originating => "originating",
        other => other.record_name(),
    };
    let end_reason = match call.state() {
        CallState::Ended { reason } => Some(super::reason_label(reason)),
        CallState::Busy => Some("busy".into()),
        CallState::NoAnswer => Some("no_answer".into()),
        CallState::Failed => Some("failed".into()),
        _ => None,
    };
    CallSummary {
        call_id: call_id.clone(),
        tenant_id: tenant.clone(),
        direction: call.direction(),
        state: state.into(),
        from,
        to,
        agent_version: agent.as_ref().and_then(|(_, v)| v.clone()),
        agent_id: agent.map(|(a, _)| a),
        created_at: call.started_at(),
        answered_at: call.answered_at(),
        ended_at: call.ended_at(),
        end_reason,
        metadata: metadata.clone(),
        answered_by: None,
        resume: None,
    }
}
