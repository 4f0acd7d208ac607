//! Control of a live call: hangup, transfer, say, dtmf. Each answers 202:
//! the gateway took the request on; the outcome arrives as call events.

use super::{
    ApiState,
    auth::Writer,
    dto::{Accepted, DtmfRequest, SayRequest, TransferRequest},
    extract::{CallIdPath, JsonBody},
    problem::{ApiError, Problem},
    validate,
};
use crate::domain::CallId;
use axum::{Json, extract::State, http::StatusCode};
use std::sync::Arc;

type Reply = Result<(StatusCode, Json<Accepted>), ApiError>;

fn accepted(id: &CallId, action: &str) -> (StatusCode, Json<Accepted>) {
    (
        StatusCode::ACCEPTED,
        Json(Accepted {
            call_id: id.to_string(),
            action: action.into(),
        }),
    )
}

/// End a call.
#[utoipa::path(
    post, path = "/v1/calls/{id}/hangup", tag = "calls",
    params(("id" = String, Path, description = "Call id")),
    responses(
        (status = 202, body = Accepted),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["calls:write"]))
)]
pub(crate) async fn hangup(
    State(s): State<Arc<ApiState>>,
    Writer(p): Writer,
    CallIdPath(id): CallIdPath,
) -> Reply {
    s.control.hangup(&p.tenant, &id).await?;
    Ok(accepted(&id, "hangup"))
}

/// Transfer a call to a number or extension.
#[utoipa::path(
    post, path = "/v1/calls/{id}/transfer", tag = "calls",
    params(("id" = String, Path, description = "Call id")),
    request_body = TransferRequest,
    responses(
        (status = 202, body = Accepted),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["calls:write"]))
)]
pub(crate) async fn transfer(
    State(s): State<Arc<ApiState>>,
    Writer(p): Writer,
    CallIdPath(id): CallIdPath,
    JsonBody(b): JsonBody<TransferRequest>,
) -> Reply {
    let (target, mode) = validate::transfer(&b.target, b.mode)?;
    s.control.transfer(&p.tenant, &id, target, mode).await?;
    Ok(accepted(&id, "transfer"))
}

/// Speak text on a call, now or after what is being said.
#[utoipa::path(
    post, path = "/v1/calls/{id}/say", tag = "calls",
    params(("id" = String, Path, description = "Call id")),
    request_body = SayRequest,
    responses(
        (status = 202, body = Accepted),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["calls:write"]))
)]
pub(crate) async fn say(
    State(s): State<Arc<ApiState>>,
    Writer(p): Writer,
    CallIdPath(id): CallIdPath,
    JsonBody(b): JsonBody<SayRequest>,
) -> Reply {
    let text = validate::say_text(b.text)?;
    s.control.say(&p.tenant, &id, text, b.interrupt).await?;
    Ok(accepted(&id, "say"))
}

/// Send DTMF digits to the far end.
#[utoipa::path(
    post, path = "/v1/calls/{id}/dtmf", tag = "calls",
    params(("id" = String, Path, description = "Call id")),
    request_body = DtmfRequest,
    responses(
        (status = 202, body = Accepted),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["calls:write"]))
)]
pub(crate) async fn dtmf(
    State(s): State<Arc<ApiState>>,
    Writer(p): Writer,
    CallIdPath(id): CallIdPath,
    JsonBody(b): JsonBody<DtmfRequest>,
) -> Reply {
    let digits = validate::dtmf(&b.digits)?;
    s.control.dtmf(&p.tenant, &id, digits).await?;
    Ok(accepted(&id, "dtmf"))
}
