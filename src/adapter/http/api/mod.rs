//! The call API (`/v1/calls…`): originate and control outbound calls for the
//! tenant named in a bearer JWT, with input checks, per-tenant limits and
//! idempotent originates; plus `/openapi.json` and `/docs`.
//!
//! [`api_router`] builds it around a [`CallControl`]; every error is an
//! `application/problem+json` document ([`problem::ApiError`]).

mod actions;
pub(crate) mod auth;
mod bucket;
mod calls;
pub mod config;
mod docs;
pub mod dto;
mod extract;
pub mod forward;
pub mod idempotency;
mod limits;
pub mod problem;
mod respond;
mod validate;

pub use config::{ApiConfig, AuthConfig, LimitsConfig, TenantLimits};
pub use idempotency::{IdempotencyStore, MemoryIdempotency};

use crate::application::ports::calls::CallControl;
use axum::{Router, extract::DefaultBodyLimit};
use std::{sync::Arc, time::SystemTime};
use utoipa_axum::{router::OpenApiRouter, routes};

/// The wall clock, injectable so tests step time (token expiry, rate, key retention).
pub type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// Keys remembered by the default in-memory idempotency store.
const IDEMPOTENCY_CAPACITY: usize = 100_000;

/// Why the API router was not built.
#[derive(Debug, thiserror::Error)]
pub enum ApiBuildError {
    /// Neither `auth.jwt_secret` nor `auth.jwks_url` is set: the call API
    /// would accept no token, and an unauthenticated one must not exist.
    #[error(
        "the call API needs auth.jwt_secret (HS256) or auth.jwks_url (RS256/ES256); neither is set"
    )]
    NoAuth,
    /// The shared secret is too short to resist guessing.
    #[error("auth.jwt_secret must be at least 32 bytes")]
    WeakSecret,
    /// `auth.jwks_url` is unusable: not `https://`, or its client cannot be built.
    #[error("auth.jwks_url {0}")]
    BadJwksUrl(String),
    /// `auth.jwks_url` without `auth.audience`: any token the IdP issued
    /// for any of its clients would be accepted.
    #[error(
        "auth.jwks_url needs auth.audience: without it a token the identity provider issued for another service is accepted"
    )]
    NoAudience,
}

/// What the API handlers share.
pub(crate) struct ApiState {
    control: Arc<dyn CallControl>,
    auth: auth::Authenticator,
    limits: limits::Limits,
    idempotency: Arc<dyn IdempotencyStore>,
    clock: Clock,
    /// `[ha]`: where requests for other instances go.
    forward: Option<forward::Forwarder>,
}

/// The call API with the system clock and an in-memory idempotency store.
/// Merge it into the management router: `router(state).merge(api_router(..)?)`.
pub fn api_router(control: Arc<dyn CallControl>, cfg: ApiConfig) -> Result<Router, ApiBuildError> {
    let store = Arc::new(MemoryIdempotency::new(IDEMPOTENCY_CAPACITY));
    api_router_with(control, cfg, store, Arc::new(SystemTime::now))
}

/// [`api_router`] with the idempotency store and clock chosen by the caller.
pub fn api_router_with(
    control: Arc<dyn CallControl>,
    cfg: ApiConfig,
    idempotency: Arc<dyn IdempotencyStore>,
    clock: Clock,
) -> Result<Router, ApiBuildError> {
    api_router_forwarding(control, cfg, idempotency, clock, None)
}

/// [`api_router_with`] that sends requests for other instances on through
/// `forward` (`[ha]`, see [`forward`]).
pub fn api_router_forwarding(
    control: Arc<dyn CallControl>,
    cfg: ApiConfig,
    idempotency: Arc<dyn IdempotencyStore>,
    clock: Clock,
    forward: Option<forward::Forwarder>,
) -> Result<Router, ApiBuildError> {
    let auth = authenticator(&cfg, clock.clone())?;
    let state = Arc::new(ApiState {
        control,
        auth,
        limits: limits::Limits::new(cfg.limits.clone()),
        idempotency,
        clock,
        forward,
    });
    let (calls, spec) = OpenApiRouter::with_openapi(docs::base())
        .routes(routes!(calls::create, calls::list))
        .routes(routes!(calls::get_one))
        .routes(routes!(actions::hangup))
        .routes(routes!(actions::transfer))
        .routes(routes!(actions::say))
        .routes(routes!(actions::dtmf))
        // Bounds every body extractor; larger bodies become 413 problems.
        .layer(DefaultBodyLimit::max(cfg.max_body_bytes))
        .split_for_parts();
    let calls = calls.method_not_allowed_fallback(|| async { problem::ApiError::MethodNotAllowed });
    Ok(calls.with_state(state).merge(docs::router(spec)))
}

/// The token checker the configuration describes; refuses a configuration
/// that would accept no token or too weak a one.
pub(crate) fn authenticator(
    cfg: &ApiConfig,
    clock: Clock,
) -> Result<auth::Authenticator, ApiBuildError> {
    let a = &cfg.auth;
    if a.jwt_secret.is_none() && a.jwks_url.is_none() {
        return Err(ApiBuildError::NoAuth);
    }
    if a.jwt_secret.as_ref().is_some_and(|s| s.len() < 32) {
        return Err(ApiBuildError::WeakSecret);
    }
    let jwks = match &a.jwks_url {
        Some(_) if a.audience.as_deref().is_none_or(str::is_empty) => {
            return Err(ApiBuildError::NoAudience);
        }
        Some(u) => Some(
            auth::JwksCache::new(u.clone(), a.jwks_insecure_http, clock.clone())
                .map_err(|e| ApiBuildError::BadJwksUrl(e.to_string()))?,
        ),
        None => None,
    };
    Ok(auth::Authenticator::new(cfg.auth.clone(), jwks, clock))
}

#[cfg(test)]
mod tests;
