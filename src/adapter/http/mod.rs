//! The management HTTP server (axum): health, readiness, metrics, and the
//! call API ([`api`]) when [`router_with_api`] builds it, and the operator
//! console ([`console`]) beside the API.
//!
//! [`router`] builds the whole router from shared state, so tests drive it
//! with `tower::ServiceExt::oneshot` and no socket.

pub mod api;
pub mod console;
mod health;

pub use api::{ApiBuildError, ApiConfig, api_router};
pub use console::console_router;

use crate::{
    adapter::telemetry::{BuildInfo, Metrics},
    application::{admission::CallAdmission, health::Readiness, ports::calls::CallControl},
};
use axum::{Router, routing::get};
use std::sync::Arc;

/// Everything the handlers share. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    /// Dependency states and the draining flag.
    pub readiness: Arc<Readiness>,
    /// New-call gate and live-call count.
    pub admission: Arc<CallAdmission>,
    /// Metric registry.
    pub metrics: Arc<Metrics>,
    /// What this binary is.
    pub build: BuildInfo,
}

impl AppState {
    /// Fresh state with no dependency declared yet.
    pub fn new(build: BuildInfo) -> Self {
        let metrics = Metrics::new(&build);
        Self::with_metrics(build, metrics)
    }

    /// Fresh state around a registry that adapters have already added to.
    pub fn with_metrics(build: BuildInfo, metrics: Metrics) -> Self {
        Self {
            readiness: Arc::default(),
            admission: Arc::default(),
            metrics: Arc::new(metrics),
            build,
        }
    }
}

/// Builds the router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .fallback(health::not_found)
        .with_state(state)
}

/// The management router plus the call API; fails when the API would have
/// no way to authenticate (see [`ApiBuildError`]).
pub fn router_with_api(
    state: AppState,
    control: Arc<dyn CallControl>,
    cfg: ApiConfig,
) -> Result<Router, ApiBuildError> {
    Ok(router(state).merge(api_router(control, cfg)?))
}

#[cfg(test)]
mod tests;
