//! Router tests through `oneshot`: a recording fake `CallControl`, HS256
//! tokens signed here, and a clock the tests step.

mod auth;
mod calls;
mod fake;
mod idempotency;
mod jwks;
mod limits;
mod openapi;
mod validation;

use super::{ApiConfig, Clock, MemoryIdempotency, api_router_with};
use crate::domain::TenantId;
use axum::{
    Router,
    body::Body,
    http::{HeaderMap, Method, Request, StatusCode},
};
use fake::FakeControl;
use http_body_util::BodyExt;
use jsonwebtoken::{EncodingKey, Header, encode};
use serde_json::{Value, json};
use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};
use tower::ServiceExt;

pub(super) const SECRET: &str = "test-secret-that-is-at-least-32-bytes-long";
/// The tests' "now": 2026-01-01T00:00:00Z.
pub(super) const T0: u64 = 1_767_225_600;

/// The router under test, its fake and its clock.
pub(super) struct App {
    pub(super) router: Router,
    pub(super) fake: Arc<FakeControl>,
    pub(super) now: Arc<AtomicU64>,
}

/// A reply, body parsed as JSON (or `Null`).
pub(super) struct Reply {
    pub(super) status: StatusCode,
    pub(super) headers: HeaderMap,
    pub(super) body: Value,
}

impl Reply {
    pub(super) fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or("")
    }
    /// Asserts a problem document of `status` and type slug `kind`; returns its `field`.
    pub(super) fn problem(&self, status: u16, kind: &str) -> Option<String> {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        assert_eq!(self.header("content-type"), "application/problem+json");
        assert_eq!(
            self.body["type"],
            format!("https://voice-gateway.dev/problems/{kind}"),
            "{}",
            self.body
        );
        assert_eq!(self.body["status"], status);
        assert!(self.body["title"].is_string() && self.body["detail"].is_string());
        self.body["field"].as_str().map(str::to_owned)
    }
}

pub(super) fn hs_config() -> ApiConfig {
    let mut cfg = ApiConfig::default();
    cfg.auth.jwt_secret = Some(SECRET.into());
    cfg
}

impl App {
    pub(super) fn new(cfg: ApiConfig) -> Self {
        let fake = Arc::new(FakeControl::default());
        let now = Arc::new(AtomicU64::new(T0));
        let n = now.clone();
        let clock: Clock =
            Arc::new(move || UNIX_EPOCH + Duration::from_secs(n.load(Ordering::SeqCst)));
        let router = api_router_with(
            fake.clone(),
            cfg,
            Arc::new(MemoryIdempotency::new(100)),
            clock,
        )
        .unwrap();
        Self { router, fake, now }
    }

    pub(super) fn hs() -> Self {
        Self::new(hs_config())
    }

    pub(super) fn advance(&self, secs: u64) {
        self.now.fetch_add(secs, Ordering::SeqCst);
    }

    /// Sends a request with the given token, JSON body and extra headers.
    pub(super) async fn req(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut b = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        if body.is_some() {
            b = b.header("content-type", "application/json");
        }
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let body = body
            .map(|v| Body::from(v.to_string()))
            .unwrap_or_else(Body::empty);
        self.send(b.body(body).unwrap()).await
    }

    pub(super) async fn send(&self, r: Request<Body>) -> Reply {
        let res = self.router.clone().oneshot(r).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
        }
    }

    pub(super) async fn get(&self, path: &str) -> Reply {
        self.req(Method::GET, path, Some(&token(json!({}))), None, &[])
            .await
    }

    pub(super) async fn post(&self, path: &str, body: Value) -> Reply {
        self.req(Method::POST, path, Some(&token(json!({}))), Some(body), &[])
            .await
    }
}

/// Claims of a valid token for tenant `acme` with both scopes; `extra` overrides.
pub(super) fn claims(extra: Value) -> Value {
    let mut c = json!({
        "sub": "client-1", "tenant_id": "acme", "scope": "calls:read calls:write",
        "iat": T0, "exp": T0 + 3600,
    });
    for (k, v) in extra.as_object().unwrap() {
        if v.is_null() {
            c.as_object_mut().unwrap().remove(k);
        } else {
            c[k] = v.clone();
        }
    }
    c
}

/// An HS256 token signed with [`SECRET`].
pub(super) fn token(extra: Value) -> String {
    encode(
        &Header::default(),
        &claims(extra),
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

pub(super) fn originate_body() -> Value {
    json!({ "to": "+15551234567", "agent_id": "sales" })
}

#[test]
fn clock_starts_at_t0() {
    assert_eq!(
        SystemTime::UNIX_EPOCH + Duration::from_secs(T0),
        humantime::parse_rfc3339("2026-01-01T00:00:00Z").unwrap()
    );
}
