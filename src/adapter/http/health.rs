//! `/healthz`, `/readyz`, `/metrics`.

use super::AppState;
use crate::application::health::ReadyStatus;
use axum::{
    Json,
    extract::State,
    http::{StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use serde_json::json;

/// Liveness: the process runs and its runtime answers. Never checks dependencies,
/// so an orchestrator does not restart a healthy gateway because Asterisk is down.
pub(super) async fn healthz(State(s): State<AppState>) -> Response {
    Json(json!({ "status": "alive", "version": s.build.version })).into_response()
}

/// Readiness: 200 only when every required dependency is up, not draining and
/// below the high-water mark of live calls.
pub(super) async fn readyz(State(s): State<AppState>) -> Response {
    let report = s.readiness.report_with(&s.admission);
    let code = match report.status {
        ReadyStatus::Ready => StatusCode::OK,
        ReadyStatus::NotReady | ReadyStatus::Draining | ReadyStatus::AtCapacity => {
            StatusCode::SERVICE_UNAVAILABLE
        }
    };
    (code, Json(report)).into_response()
}

pub(super) async fn metrics(State(s): State<AppState>) -> Response {
    let body = s.metrics.render(&s.readiness, &s.admission);
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

pub(super) async fn not_found(uri: Uri) -> Response {
    let body = json!({
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": format!("no route for {}", uri.path()),
    });
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "application/problem+json")],
        body.to_string(),
    )
        .into_response()
}
