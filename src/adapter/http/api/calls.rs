//! `POST /v1/calls` and the reads: originate (limits, idempotency), get, list.

use super::{
    ApiState,
    auth::{Reader, Writer},
    dto::{CallPage, CallView, CreateCallRequest},
    extract::{CallIdPath, JsonBody, ListParams},
    forward::Relay,
    idempotency::{self, Begin},
    problem::{ApiError, Problem},
    validate,
};
use crate::application::ports::calls::ControlError;
use axum::{
    Json,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use std::{
    hash::{DefaultHasher, Hash, Hasher},
    sync::Arc,
};

fn created(status: StatusCode, view: CallView) -> Response {
    let location = format!("/v1/calls/{}", view.call_id);
    let mut res = (status, Json(view)).into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

/// The request as a number: the same key with a different body is a mismatch.
/// `DefaultHasher::new()` is fixed-keyed, so equal requests agree in-process.
fn fingerprint(req: &CreateCallRequest) -> u64 {
    let mut h = DefaultHasher::new();
    serde_json::to_string(req).unwrap_or_default().hash(&mut h);
    h.finish()
}

/// Place an outbound call.
#[utoipa::path(
    post, path = "/v1/calls", tag = "calls",
    request_body = CreateCallRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "1-255 printable characters; repeats within 24 h return the first call")),
    responses(
        (status = 201, description = "Dialling", body = CallView, headers(("Location" = String))),
        (status = 200, description = "Replay of an earlier request with this Idempotency-Key", body = CallView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json", headers(("Retry-After" = u64))),
    ),
    security(("bearer" = ["calls:write"]))
)]
pub(crate) async fn create(
    State(s): State<Arc<ApiState>>,
    Writer(p): Writer,
    headers: HeaderMap,
    JsonBody(body): JsonBody<CreateCallRequest>,
) -> Result<Response, ApiError> {
    let key = idempotency::key_from(&headers)?;
    let print = fingerprint(&body);
    let asked = Asked {
        headers: headers.clone(),
        body: serde_json::to_value(&body).ok(),
    };
    let request = validate::originate(p.tenant.clone(), body)?;
    if let Some(key) = &key {
        match s
            .idempotency
            .begin(&p.tenant, key, print, (s.clock)())
            .await
        {
            Begin::Fresh => {}
            Begin::Replay(view) => return Ok(created(StatusCode::OK, *view)),
            Begin::Mismatch => return Err(ApiError::IdempotencyMismatch),
            Begin::InProgress => return Err(ApiError::IdempotencyInProgress),
        }
    }
    // Its own task: a client that hangs up mid-request must not take the
    // limit slot and the idempotency key's outcome down with its handler
    // while the call it asked for still dials.
    let placing = tokio::spawn(async move {
        let outcome = originate(&s, request, asked).await;
        match (&outcome, &key) {
            (Ok(view), Some(k)) => {
                s.idempotency
                    .complete(&p.tenant, k, view.clone(), (s.clock)())
                    .await
            }
            (Err(_), Some(k)) => s.idempotency.abandon(&p.tenant, k).await,
            _ => {}
        }
        outcome
    });
    let outcome = placing
        .await
        .map_err(|e| ApiError::Unavailable(format!("placing the call failed: {e}")))?;
    outcome.map(|v| created(StatusCode::CREATED, v))
}

/// The originate as the caller sent it, to forward it unchanged.
struct Asked {
    headers: HeaderMap,
    body: Option<serde_json::Value>,
}

async fn originate(
    s: &ApiState,
    request: crate::application::ports::calls::OriginateCall,
    asked: Asked,
) -> Result<CallView, ApiError> {
    let tenant = request.tenant.clone();
    // Only at the limit: drop tracked calls that have ended since.
    for id in s.limits.to_recheck(&tenant) {
        match s.control.get(&tenant, &id).await {
            Ok(c) if c.state != "ended" => {}
            Ok(_) | Err(ControlError::NotFound) => s.limits.forget(&tenant, &id),
            Err(e) => return Err(e.into()),
        }
    }
    let slot = s.limits.acquire(&tenant, (s.clock)())?;
    let view: CallView = match s.control.originate(request).await {
        Ok(call) => call.into(),
        Err(e @ ControlError::NotListening(_)) if s.forward.is_some() => {
            to_active(s, e, asked).await?
        }
        Err(e) => return Err(e.into()),
    };
    if let Ok(id) = crate::domain::CallId::parse(&view.call_id) {
        slot.confirm(id);
    }
    Ok(view)
}

/// A standby's originate, placed by the active instance of the Asterisk.
async fn to_active(s: &ApiState, local: ControlError, asked: Asked) -> Result<CallView, ApiError> {
    let Some(forward) = &s.forward else {
        return Err(local.into());
    };
    let relay = Relay {
        path: "/v1/calls".into(),
        headers: &asked.headers,
        body: asked.body,
    };
    let answer = forward.originate(local, relay).await?;
    if !answer.status.is_success() {
        return Err(ApiError::Relayed(Box::new(answer)));
    }
    serde_json::from_slice(&answer.body).map_err(|e| {
        ApiError::Unreachable(format!(
            "the active instance answered something unreadable: {e}"
        ))
    })
}

/// One call of the caller's tenant: from the call store, else (ended and
/// no longer held there) from the call history.
#[utoipa::path(
    get, path = "/v1/calls/{id}", tag = "calls",
    params(("id" = String, Path, description = "Call id")),
    responses(
        (status = 200, body = CallView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["calls:read"]))
)]
pub(crate) async fn get_one(
    State(s): State<Arc<ApiState>>,
    Reader(p): Reader,
    CallIdPath(id): CallIdPath,
) -> Result<Json<CallView>, ApiError> {
    Ok(Json(s.control.get(&p.tenant, &id).await?.into()))
}

/// The caller's tenant's calls, newest first.
#[utoipa::path(
    get, path = "/v1/calls", tag = "calls",
    params(super::dto::ListQuery),
    responses(
        (status = 200, body = CallPage),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["calls:read"]))
)]
pub(crate) async fn list(
    State(s): State<Arc<ApiState>>,
    Reader(p): Reader,
    ListParams(q): ListParams,
) -> Result<Json<CallPage>, ApiError> {
    let filter = validate::list(q)?;
    Ok(Json(s.control.list(&p.tenant, filter).await?.into()))
}
