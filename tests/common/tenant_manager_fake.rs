//! A fake of the platform's tenant-manager on a free loopback port: the
//! telephony endpoints of the contract the gateway's tenant-manager
//! directory reads (README "Tenant-manager"), answers scripted per tenant
//! and DID, faults on demand (a status, a body that is not the contract's,
//! a delay), every request recorded, and a stop that is a real outage
//! (the port refuses connections; no keep-alive connection survives).

#![allow(dead_code)]

use axum::{
    Router,
    body::Body,
    extract::{Path, State},
    http::{HeaderMap, StatusCode, header},
    response::Response,
    routing::get,
};
use serde_json::{Value, json};
use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

/// What every answer does instead of the script.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Fault {
    /// Answer from the script.
    None,
    /// Answer this status with an empty body.
    Status(u16),
    /// Answer 200 with this body (not the contract's).
    Body(&'static str),
    /// Answer from the script after this long.
    Delay(Duration),
}

/// One request the fake received.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    /// The path.
    pub(crate) path: String,
    /// Its `Authorization` header.
    pub(crate) authorization: Option<String>,
    /// Its `traceparent` header.
    pub(crate) traceparent: Option<String>,
}

#[derive(Default)]
struct Script {
    settings: HashMap<String, Value>,
    dids: HashMap<(String, String), Value>,
    fault: Option<Fault>,
    seen: Vec<Seen>,
}

type Shared = Arc<Mutex<Script>>;

/// The fake; stops when dropped.
pub(crate) struct TenantManager {
    pub(crate) url: String,
    addr: SocketAddr,
    script: Shared,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl TenantManager {
    /// Serves on a free loopback port.
    pub(crate) async fn start() -> TenantManager {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut tm = TenantManager {
            url: format!("http://{addr}"),
            addr,
            script: Shared::default(),
            server: None,
        };
        tm.serve(listener);
        tm
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let app = Router::new()
            .route("/api/v1/tenants/{tenant}/telephony/settings", get(settings))
            .route("/api/v1/tenants/{tenant}/telephony/dids/{did}", get(did))
            .with_state(self.script.clone());
        self.server = Some(tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        }));
    }

    /// The tenant's settings: `language`, providers and a live-call limit.
    pub(crate) fn set_settings(&self, tenant: &str, settings: Value) {
        let mut s = self.script.lock().unwrap();
        s.settings.insert(tenant.to_owned(), settings);
    }

    /// Settings naming these providers (`stt`, `tts`, each with fallbacks).
    pub(crate) fn tenant(&self, tenant: &str, stt: Value, tts: Value) {
        self.set_settings(
            tenant,
            json!({"tenant_id": tenant, "language": "en-US", "stt": stt, "tts": tts,
                   "llm": {"provider": "platform-llm"}, "limits": {"max_live_calls": 50}}),
        );
    }

    /// `did` belongs to `tenant` and is answered by `agent`.
    pub(crate) fn map_did(&self, tenant: &str, did: &str, agent: &str) {
        let mut s = self.script.lock().unwrap();
        s.dids.insert(
            (tenant.to_owned(), did.to_owned()),
            json!({"did": did, "tenant_id": tenant, "agent_id": agent}),
        );
    }

    /// Every later answer is `fault` (`Fault::None`: the script again).
    pub(crate) fn set_fault(&self, fault: Fault) {
        self.script.lock().unwrap().fault = Some(fault);
    }

    /// Requests so far.
    pub(crate) fn seen(&self) -> Vec<Seen> {
        self.script.lock().unwrap().seen.clone()
    }

    /// Requests so far whose path ends with `tail`.
    pub(crate) fn count(&self, tail: &str) -> usize {
        self.seen()
            .iter()
            .filter(|s| s.path.ends_with(tail))
            .count()
    }

    /// An outage: the port refuses connections until [`Self::restart`].
    pub(crate) async fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
            let _ = server.await;
        }
        // The port must refuse, not hang: nothing listens once it is closed.
        assert!(
            tokio::net::TcpStream::connect(self.addr).await.is_err(),
            "the fake tenant-manager still accepts connections"
        );
    }

    /// Serves again on the same port.
    pub(crate) async fn restart(&mut self) {
        let listener = tokio::net::TcpListener::bind(self.addr).await.unwrap();
        self.serve(listener);
    }
}

impl Drop for TenantManager {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            s.abort();
        }
    }
}

fn header_text(h: &HeaderMap, name: &str) -> Option<String> {
    h.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// Records the request; the fault in force, if any.
fn record(s: &Shared, path: String, h: &HeaderMap) -> Fault {
    let mut s = s.lock().unwrap();
    s.seen.push(Seen {
        path,
        authorization: header_text(h, "authorization"),
        traceparent: header_text(h, "traceparent"),
    });
    s.fault.clone().unwrap_or(Fault::None)
}

/// `Connection: close` on every answer: a stopped fake leaves no pooled
/// connection behind that would still answer.
fn reply(status: StatusCode, body: String) -> Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONNECTION, "close")
        .body(Body::from(body))
        .unwrap()
}

async fn answer(fault: Fault, found: Option<Value>) -> Response {
    match fault {
        Fault::Status(code) => return reply(StatusCode::from_u16(code).unwrap(), String::new()),
        Fault::Body(b) => return reply(StatusCode::OK, b.to_owned()),
        Fault::Delay(d) => tokio::time::sleep(d).await,
        Fault::None => {}
    }
    match found {
        Some(v) => reply(StatusCode::OK, v.to_string()),
        None => reply(
            StatusCode::NOT_FOUND,
            json!({"error": "not_found"}).to_string(),
        ),
    }
}

async fn settings(State(s): State<Shared>, Path(tenant): Path<String>, h: HeaderMap) -> Response {
    let fault = record(
        &s,
        format!("/api/v1/tenants/{tenant}/telephony/settings"),
        &h,
    );
    let found = s.lock().unwrap().settings.get(&tenant).cloned();
    answer(fault, found).await
}

async fn did(
    State(s): State<Shared>,
    Path((tenant, did)): Path<(String, String)>,
    h: HeaderMap,
) -> Response {
    let fault = record(
        &s,
        format!("/api/v1/tenants/{tenant}/telephony/dids/{did}"),
        &h,
    );
    let found = s.lock().unwrap().dids.get(&(tenant, did)).cloned();
    answer(fault, found).await
}
