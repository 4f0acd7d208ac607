//! A tiny ARI stand-in on 127.0.0.1:0: records every request and answers with
//! scripted replies, in order.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::adapter::ari::{AriClient, AriClientConfig, RetryPolicy};

/// What the stand-in answers to the next request.
#[derive(Debug, Clone)]
pub(super) enum Reply {
    /// A status with a JSON body.
    Json(u16, Value),
    /// A status with no body (204).
    Empty(u16),
    /// Never answer (for timeouts).
    Hang,
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub(super) struct Seen {
    pub(super) method: String,
    /// The raw, still percent-encoded path.
    pub(super) path: String,
    /// Decoded query pairs, in order.
    pub(super) query: Vec<(String, String)>,
    pub(super) body: Option<Value>,
    pub(super) authorization: Option<String>,
}

impl Seen {
    pub(super) fn query(&self) -> Vec<(&str, &str)> {
        self.query
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }
}

#[derive(Default)]
struct Shared {
    seen: Mutex<Vec<Seen>>,
    replies: Mutex<VecDeque<Reply>>,
}

pub(super) struct MockAri {
    pub(super) addr: SocketAddr,
    shared: Arc<Shared>,
}

impl MockAri {
    pub(super) async fn start() -> Self {
        let shared = Arc::new(Shared::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(shared.clone());
        tokio::spawn(async move {
            axum::serve(listener, app).await.expect("serve");
        });
        Self { addr, shared }
    }

    pub(super) fn reply(&self, reply: Reply) -> &Self {
        self.shared.replies.lock().unwrap().push_back(reply);
        self
    }

    pub(super) fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }

    pub(super) fn unused_replies(&self) -> usize {
        self.shared.replies.lock().unwrap().len()
    }

    pub(super) fn client(&self) -> AriClient {
        self.client_with_timeout(Duration::from_secs(5))
    }

    pub(super) fn client_with_timeout(&self, request_timeout: Duration) -> AriClient {
        AriClient::new(AriClientConfig {
            base_url: format!("http://{}/ari", self.addr),
            username: "gw".into(),
            password: "gwsecret".into(),
            app: "vg-test".into(),
            request_timeout,
        })
        .expect("client")
        // Short waits keep the retry tests fast; the count is what they check.
        .with_retry_policy(RetryPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(5),
        })
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let query = uri
        .query()
        .map(|q| {
            // Decode the way any server would; reqwest's Url has the form decoder.
            let url = reqwest::Url::parse(&format!("http://mock/?{q}")).expect("query");
            url.query_pairs().into_owned().collect()
        })
        .unwrap_or_default();
    shared.seen.lock().unwrap().push(Seen {
        method: method.to_string(),
        path: uri.path().to_owned(),
        query,
        body: (!body.is_empty()).then(|| serde_json::from_slice(&body).expect("JSON body")),
        authorization: headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    });
    let reply = shared.replies.lock().unwrap().pop_front();
    match reply {
        Some(Reply::Json(status, body)) => {
            (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response()
        }
        Some(Reply::Empty(status)) => StatusCode::from_u16(status).unwrap().into_response(),
        Some(Reply::Hang) => std::future::pending().await,
        None => (StatusCode::IM_A_TEAPOT, "mock: no scripted reply").into_response(),
    }
}

/// `tests/fixtures/ari-fixtures` (copied from `shared/ari-fixtures`) (or `ARI_FIXTURES_DIR`).
fn fixtures_dir() -> PathBuf {
    std::env::var_os("ARI_FIXTURES_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ari-fixtures")
        })
}

/// The first recorded response of `file` to `method` on a path containing `path`,
/// with `status`, as a reply. Panics if the fixture has none: the tests replay real
/// traffic, not invented bodies.
pub(super) fn fixture_reply(file: &str, method: &str, path: &str, status: u16) -> Reply {
    let text = std::fs::read_to_string(fixtures_dir().join(file))
        .unwrap_or_else(|e| panic!("fixture {file}: {e}"));
    let doc: Value = serde_json::from_str(&text).expect("fixture JSON");
    let step = doc["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| {
            s["kind"] == "http"
                && s["request"]["method"] == method
                && s["request"]["path"]
                    .as_str()
                    .is_some_and(|p| p.contains(path))
                && s["response"]["status"] == status
        })
        .unwrap_or_else(|| panic!("{file}: no {method} {path} -> {status}"));
    match &step["response"]["body"] {
        Value::Null => Reply::Empty(status),
        body => Reply::Json(status, body.clone()),
    }
}
