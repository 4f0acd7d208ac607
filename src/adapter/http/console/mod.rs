//! The operator console: `GET /console`, a page embedded in the binary (plain
//! JavaScript modules and CSS, no build step, no CDN), and the JSON and
//! server-sent events it reads, under `/console/api/`.
//!
//! Sign-in is the call API's bearer JWT, sent only in `Authorization`
//! headers: the page takes it from a sign-in box or the URL fragment (which
//! browsers never send). The live stream is read with `fetch` streaming
//! rather than `EventSource`, which cannot set headers: a token in a query
//! string would land in access logs, and a ticket exchange would be one more
//! secret with a lifetime to get right. A token with `console:read` sees every
//! tenant; one with `calls:read` only its own tenant's calls and figures.

mod assets;
mod stream;

use super::{
    AppState,
    api::{
        ApiBuildError, ApiConfig, Clock, auth,
        auth::{Authenticator, Principal},
        problem::ApiError,
    },
};
use crate::{
    application::{
        console::{CallDetail, ConsoleHub, TenantLatency, Visibility},
        ports::history::CallHistory,
    },
    domain::CallId,
};
use axum::{
    Json, Router,
    extract::{FromRequestParts, Path, Query, State},
    http::request::Parts,
    routing::get,
};
use serde::Deserialize;
use std::sync::Arc;

/// Scope that sees every tenant.
pub const CONSOLE_READ: &str = "console:read";

/// What the console's handlers share.
#[derive(Clone)]
pub(crate) struct ConsoleState {
    app: AppState,
    hub: Arc<ConsoleHub>,
    history: Arc<dyn CallHistory>,
    auth: Arc<Authenticator>,
    clock: Clock,
}

/// The console's routes; the same token rules as the call API. A call page
/// this instance no longer holds is read from `history`.
pub fn console_router(
    app: AppState,
    hub: Arc<ConsoleHub>,
    history: Arc<dyn CallHistory>,
    cfg: &ApiConfig,
    clock: Clock,
) -> Result<Router, ApiBuildError> {
    let auth = Arc::new(super::api::authenticator(cfg, clock.clone())?);
    let state = ConsoleState {
        app,
        hub,
        history,
        auth,
        clock,
    };
    Ok(Router::new()
        .route("/console", get(assets::index))
        .route("/console/app.js", get(assets::script))
        .route("/console/console.css", get(assets::style))
        .route("/console/api/stream", get(stream::stream))
        .route("/console/api/calls/{id}", get(call))
        .route("/console/api/latency", get(latency))
        .with_state(state))
}

/// The signed-in operator and what they may see.
pub(crate) struct Viewer(Visibility);

fn visibility(p: Principal) -> Result<Visibility, ApiError> {
    if p.scopes.iter().any(|s| s == CONSOLE_READ) {
        Ok(Visibility::All)
    } else if p.scopes.iter().any(|s| s == auth::READ) {
        Ok(Visibility::Tenant(p.tenant))
    } else {
        Err(ApiError::InsufficientScope(auth::READ))
    }
}

impl FromRequestParts<ConsoleState> for Viewer {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, s: &ConsoleState) -> Result<Self, ApiError> {
        let p = auth::bearer(&parts.headers, &s.auth).await?;
        visibility(p).map(Self)
    }
}

/// One call's page: live or ended and still kept here, else its record in
/// the call history (ended before a restart, on another instance, or long
/// ago).
async fn call(
    State(s): State<ConsoleState>,
    Viewer(who): Viewer,
    Path(id): Path<String>,
) -> Result<Json<CallDetail>, ApiError> {
    let id =
        CallId::parse(id).map_err(|e| ApiError::invalid("invalid-call-id", "id", e.to_string()))?;
    if let Some(found) = s.hub.call(&who, &id) {
        return Ok(Json(found));
    }
    let record = s.history.find(&id).await.map_err(|e| {
        tracing::warn!(call_id = %id, error = %e, "console: call history read failed");
        ApiError::HistoryUnavailable
    })?;
    // Another tenant's call is as absent as one that never was.
    record
        .filter(|r| who.sees(&r.tenant))
        .map(|r| Json(CallDetail::from_record(&r)))
        .ok_or_else(|| ApiError::NotFound("no such call".into()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Window {
    minutes: u64,
}

/// p50/p90 per tenant and stage over the last 5 or 60 minutes.
async fn latency(
    State(s): State<ConsoleState>,
    Viewer(who): Viewer,
    q: Result<Query<Window>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<TenantLatency>>, ApiError> {
    let minutes = match q {
        Ok(Query(Window {
            minutes: m @ (5 | 60),
        })) => m,
        _ => {
            return Err(ApiError::invalid(
                "invalid-query",
                "minutes",
                "minutes must be 5 or 60".to_owned(),
            ));
        }
    };
    Ok(Json(s.hub.latency(&who, (s.clock)(), minutes)))
}

#[cfg(test)]
mod tests;
