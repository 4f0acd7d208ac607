//! Control of a live call: hangup, transfer, say, dtmf. Each answers 202:
//! the gateway took the request on; the outcome arrives as call events.

use super::{
    ApiState,
    auth::{Principal, Writer},
    dto::{Accepted, DtmfRequest, SayRequest, TransferRequest},
    extract::{CallIdPath, JsonBody},
    forward::Relay,
    problem::{ApiError, Problem},
    validate,
};
use crate::{application::ports::calls::ControlError, domain::CallId};
use axum::{
    Json,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use std::sync::Arc;

type Reply = Result<Response, ApiError>;

/// One control request, as the caller sent it (to forward it unchanged).
struct Asked<'a, B> {
    caller: &'a Principal,
    id: &'a CallId,
    action: &'static str,
    headers: &'a HeaderMap,
    body: Option<&'a B>,
}

impl ApiState {
    /// 202 when the router took `local` on; a call this instance does not
    /// run (or a standby) goes to the instance that does, when forwarding.
    async fn settle<B: Serialize>(
        &self,
        local: Result<(), ControlError>,
        a: Asked<'_, B>,
    ) -> Reply {
        let e = match local {
            Ok(()) => return Ok(accepted(a.id, a.action).into_response()),
            Err(e @ (ControlError::NotFound | ControlError::NotListening(_))) => e,
            Err(e) => return Err(e.into()),
        };
        let Some(forward) = &self.forward else {
            return Err(e.into());
        };
        let relay = Relay {
            path: format!("/v1/calls/{}/{}", a.id, a.action),
            headers: a.headers,
            body: a.body.and_then(|b| serde_json::to_value(b).ok()),
        };
        let answer = forward.control(&a.caller.tenant, a.id, e, relay).await?;
        Ok(answer.into_response())
    }
}

fn accepted(id: &CallId, action: &str) -> (StatusCode, Json<Accepted>) {
    (
        StatusCode::ACCEPTED,
        Json(Accepted {
            call_id: id.to_string(),
            action: action.into(),
        }),
    )
}

fn asked<'a, B>(
    caller: &'a Principal,
    id: &'a CallId,
    action: &'static str,
    headers: &'a HeaderMap,
    body: Option<&'a B>,
) -> Asked<'a, B> {
    Asked {
        caller,
        id,
        action,
        headers,
        body,
    }
}

/// End a call.
#[utoipa::path(
    post, path = "/v1/calls/{id}/hangup", tag = "calls",
    params(("id" = String, Path, description = "Call id")),
    responses(
        (status = 202, body = Accepted),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Another instance runs the call and could not be reached (`owner-unreachable`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["calls:write"]))
)]
pub(crate) async fn hangup(
    State(s): State<Arc<ApiState>>,
    Writer(p): Writer,
    headers: HeaderMap,
    CallIdPath(id): CallIdPath,
) -> Reply {
    let local = s.control.hangup(&p.tenant, &id).await;
    s.settle(local, asked::<()>(&p, &id, "hangup", &headers, None))
        .await
}

/// Transfer a call to a number or extension.
#[utoipa::path(
    post, path = "/v1/calls/{id}/transfer", tag = "calls",
    params(("id" = String, Path, description = "Call id")),
    request_body = TransferRequest,
    responses(
        (status = 202, body = Accepted),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Another instance runs the call and could not be reached (`owner-unreachable`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["calls:write"]))
)]
pub(crate) async fn transfer(
    State(s): State<Arc<ApiState>>,
    Writer(p): Writer,
    headers: HeaderMap,
    CallIdPath(id): CallIdPath,
    JsonBody(b): JsonBody<TransferRequest>,
) -> Reply {
    let (target, mode) = validate::transfer(&b.target, b.mode)?;
    let local = s.control.transfer(&p.tenant, &id, target, mode).await;
    s.settle(local, asked(&p, &id, "transfer", &headers, Some(&b)))
        .await
}

/// Speak text on a call, now or after what is being said.
#[utoipa::path(
    post, path = "/v1/calls/{id}/say", tag = "calls",
    params(("id" = String, Path, description = "Call id")),
    request_body = SayRequest,
    responses(
        (status = 202, body = Accepted),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Another instance runs the call and could not be reached (`owner-unreachable`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["calls:write"]))
)]
pub(crate) async fn say(
    State(s): State<Arc<ApiState>>,
    Writer(p): Writer,
    headers: HeaderMap,
    CallIdPath(id): CallIdPath,
    JsonBody(b): JsonBody<SayRequest>,
) -> Reply {
    let text = validate::say_text(b.text.clone())?;
    let local = s.control.say(&p.tenant, &id, text, b.interrupt).await;
    s.settle(local, asked(&p, &id, "say", &headers, Some(&b)))
        .await
}

/// Send DTMF digits to the far end.
#[utoipa::path(
    post, path = "/v1/calls/{id}/dtmf", tag = "calls",
    params(("id" = String, Path, description = "Call id")),
    request_body = DtmfRequest,
    responses(
        (status = 202, body = Accepted),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Another instance runs the call and could not be reached (`owner-unreachable`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["calls:write"]))
)]
pub(crate) async fn dtmf(
    State(s): State<Arc<ApiState>>,
    Writer(p): Writer,
    headers: HeaderMap,
    CallIdPath(id): CallIdPath,
    JsonBody(b): JsonBody<DtmfRequest>,
) -> Reply {
    let digits = validate::dtmf(&b.digits)?;
    let local = s.control.dtmf(&p.tenant, &id, digits).await;
    s.settle(local, asked(&p, &id, "dtmf", &headers, Some(&b)))
        .await
}
