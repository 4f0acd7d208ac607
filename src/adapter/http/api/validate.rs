//! Checks request DTOs into domain values; each failure names its field.

use super::{
    dto::{CreateCallRequest, ListQuery, MachineActionDto, TransferModeDto},
    problem::ApiError,
};
use crate::{
    application::ports::calls::{ListFilter, OriginateCall, TransferMode},
    domain::{AgentId, DtmfDigits, E164, SayText, TenantId, TransferTarget, screening::OnMachine},
};
use std::time::Duration;

const MAX_METADATA_KEYS: usize = 32;
const MAX_METADATA_KEY: usize = 64;
const MAX_METADATA_VALUE: usize = 512;
const MAX_CURSOR: usize = 256;
/// The states `CallSummary::state` can take; anything else cannot match.
const STATES: [&str; 6] = [
    "originating",
    "ringing",
    "answered",
    "active",
    "transferring",
    "ended",
];

/// Every number goes through `E164::parse`: `+1555&Dial(...)` or
/// `PJSIP/x` cannot reach an endpoint template.
pub(crate) fn number(field: &str, s: &str) -> Result<E164, ApiError> {
    E164::parse(s).map_err(|e| ApiError::invalid("invalid-number", field, e.to_string()))
}

/// The originate request for `tenant`.
pub(crate) fn originate(tenant: TenantId, r: CreateCallRequest) -> Result<OriginateCall, ApiError> {
    let to = number("to", &r.to)?;
    let from = r.from.as_deref().map(|f| number("from", f)).transpose()?;
    let agent = r
        .agent_id
        .map(AgentId::parse)
        .transpose()
        .map_err(|e| ApiError::invalid("invalid-field", "agent_id", e.to_string()))?;
    let secs = r.ring_timeout_secs.unwrap_or(30);
    if !(5..=120).contains(&secs) {
        return Err(ApiError::invalid(
            "invalid-field",
            "ring_timeout_secs",
            format!("ring_timeout_secs is {secs}; it must be 5 to 120"),
        ));
    }
    let metadata = r.metadata.unwrap_or_default();
    if metadata.len() > MAX_METADATA_KEYS {
        return Err(ApiError::invalid(
            "invalid-field",
            "metadata",
            format!(
                "metadata has {} keys; at most {MAX_METADATA_KEYS} are allowed",
                metadata.len()
            ),
        ));
    }
    for (k, v) in &metadata {
        let at = format!("metadata.{k}");
        if k.is_empty() || k.chars().count() > MAX_METADATA_KEY {
            return Err(ApiError::invalid(
                "invalid-field",
                "metadata",
                format!("metadata keys must be 1 to {MAX_METADATA_KEY} characters"),
            ));
        }
        if v.chars().count() > MAX_METADATA_VALUE {
            return Err(ApiError::invalid(
                "invalid-field",
                &at,
                format!("{at} is longer than {MAX_METADATA_VALUE} characters"),
            ));
        }
    }
    let detect_machine = machine_detection(
        r.detect_machine.unwrap_or(false),
        r.machine_action,
        r.machine_message,
    )?;
    Ok(OriginateCall {
        tenant,
        to,
        from,
        agent,
        ring_timeout: Duration::from_secs(secs),
        metadata,
        detect_machine,
    })
}

/// What a machine gets, when the request asks to detect one: the action
/// and message only with `detect_machine`, the message exactly with
/// `message`.
fn machine_detection(
    detect: bool,
    action: Option<MachineActionDto>,
    message: Option<String>,
) -> Result<Option<OnMachine>, ApiError> {
    let invalid =
        |field: &str, text: &str| Err(ApiError::invalid("invalid-field", field, text.to_owned()));
    if !detect {
        return match (action, message) {
            (Some(_), _) => invalid(
                "machine_action",
                "machine_action needs detect_machine = true",
            ),
            (None, Some(_)) => invalid(
                "machine_message",
                "machine_message needs detect_machine = true",
            ),
            (None, None) => Ok(None),
        };
    }
    let on_machine = match (action.unwrap_or(MachineActionDto::Continue), message) {
        (MachineActionDto::Message, Some(text)) => {
            OnMachine::Message(SayText::parse(text).map_err(|e| {
                ApiError::invalid("invalid-field", "machine_message", e.to_string())
            })?)
        }
        (MachineActionDto::Message, None) => {
            return invalid(
                "machine_message",
                "machine_message is required when machine_action is message",
            );
        }
        (_, Some(_)) => {
            return invalid(
                "machine_message",
                "machine_message goes only with machine_action = \"message\"",
            );
        }
        (MachineActionDto::Continue, None) => OnMachine::Continue,
        (MachineActionDto::Hangup, None) => OnMachine::Hangup,
    };
    Ok(Some(on_machine))
}

/// A transfer target: E.164 or a plain extension, never a channel string.
pub(crate) fn transfer(
    target: &str,
    mode: TransferModeDto,
) -> Result<(TransferTarget, TransferMode), ApiError> {
    let target = TransferTarget::parse_number_or_extension(target)
        .map_err(|e| ApiError::invalid("invalid-number", "target", e.to_string()))?;
    let mode = match mode {
        TransferModeDto::Blind => TransferMode::Blind,
        TransferModeDto::Attended => TransferMode::Attended,
    };
    Ok((target, mode))
}

/// Text to speak: 1-2000 characters, not blank.
pub(crate) fn say_text(text: String) -> Result<SayText, ApiError> {
    SayText::parse(text).map_err(|e| ApiError::invalid("invalid-field", "text", e.to_string()))
}

/// DTMF digits: 1-32 of `0-9 * # A-D`.
pub(crate) fn dtmf(digits: &str) -> Result<DtmfDigits, ApiError> {
    DtmfDigits::parse(digits)
        .map_err(|e| ApiError::invalid("invalid-dtmf", "digits", e.to_string()))
}

/// The list filter; limit 1-100, default 20.
pub(crate) fn list(q: ListQuery) -> Result<ListFilter, ApiError> {
    let limit = q.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::invalid(
            "invalid-field",
            "limit",
            format!("limit is {limit}; it must be 1 to 100"),
        ));
    }
    if let Some(s) = &q.state
        && !STATES.contains(&s.as_str())
    {
        return Err(ApiError::invalid(
            "invalid-field",
            "state",
            format!("state must be one of {}", STATES.join(", ")),
        ));
    }
    if let Some(c) = &q.cursor
        && (c.is_empty() || c.len() > MAX_CURSOR || !c.bytes().all(|b| b.is_ascii_graphic()))
    {
        return Err(ApiError::invalid(
            "invalid-field",
            "cursor",
            "cursor is not one this API returned",
        ));
    }
    Ok(ListFilter {
        state: q.state,
        limit: limit as usize,
        cursor: q.cursor,
    })
}
