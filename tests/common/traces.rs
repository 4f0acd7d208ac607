//! What the trace tests share (included with `#[path]`): an OTLP/HTTP trace
//! receiver on loopback that decodes each POSTed `ExportTraceServiceRequest`
//! (protobuf) and keeps its spans, and an orchestrator that keeps the
//! `traceparent` of each request.

use axum::{
    Json, Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode, Uri},
    routing::post,
};
use opentelemetry_proto::tonic::{
    collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse},
    common::v1::any_value::Value as Any,
    trace::v1::Span,
};
use prost::Message;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// A span as received, with the service that sent it.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) service: String,
    pub(crate) span: Span,
}

impl Received {
    pub(crate) fn trace_id(&self) -> String {
        hex(&self.span.trace_id)
    }
    pub(crate) fn span_id(&self) -> String {
        hex(&self.span.span_id)
    }
    pub(crate) fn parent_id(&self) -> String {
        hex(&self.span.parent_span_id)
    }
    pub(crate) fn name(&self) -> &str {
        &self.span.name
    }
    /// A string or integer attribute, as text.
    pub(crate) fn attr(&self, key: &str) -> Option<String> {
        let kv = self.span.attributes.iter().find(|kv| kv.key == key)?;
        match kv.value.as_ref()?.value.as_ref()? {
            Any::StringValue(s) => Some(s.clone()),
            Any::IntValue(i) => Some(i.to_string()),
            other => Some(format!("{other:?}")),
        }
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The receiver; its spans, and the requests it refused to decode.
#[derive(Clone, Default)]
pub(crate) struct Collector {
    spans: Arc<Mutex<Vec<Received>>>,
    bad: Arc<Mutex<Vec<String>>>,
}

impl Collector {
    /// Serves on a free loopback port; returns its base URL.
    pub(crate) async fn start(&self) -> String {
        let app = Router::new()
            .route("/v1/traces", post(export))
            .with_state(self.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        url
    }

    pub(crate) fn spans(&self) -> Vec<Received> {
        assert!(
            self.bad.lock().unwrap().is_empty(),
            "{:?}",
            self.bad.lock().unwrap()
        );
        self.spans.lock().unwrap().clone()
    }
}

async fn export(State(c): State<Collector>, body: Bytes) -> (StatusCode, Vec<u8>) {
    let request = match ExportTraceServiceRequest::decode(body) {
        Ok(r) => r,
        Err(e) => {
            c.bad.lock().unwrap().push(e.to_string());
            return (StatusCode::BAD_REQUEST, Vec::new());
        }
    };
    let mut spans = c.spans.lock().unwrap();
    for rs in request.resource_spans {
        let service = rs
            .resource
            .iter()
            .flat_map(|r| &r.attributes)
            .find(|kv| kv.key == "service.name")
            .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
                Any::StringValue(s) => Some(s.clone()),
                _ => None,
            })
            .unwrap_or_default();
        for ss in rs.scope_spans {
            for span in ss.spans {
                spans.push(Received {
                    service: service.clone(),
                    span,
                });
            }
        }
    }
    (
        StatusCode::OK,
        ExportTraceServiceResponse::default().encode_to_vec(),
    )
}

type Seen = Arc<Mutex<Vec<(String, String)>>>;

/// An orchestrator on a free loopback port: a greeting, then an echo.
pub(crate) struct Orchestrator {
    pub(crate) url: String,
    seen: Seen,
}

impl Orchestrator {
    pub(crate) async fn start() -> Self {
        let seen = Seen::default();
        let app = Router::new()
            .route("/api/v1/conversations", post(create))
            .route("/api/v1/conversations/{id}/turns", post(turn))
            .with_state(seen.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, seen }
    }

    /// `(path, traceparent)` of each request that carried one.
    pub(crate) fn traceparents(&self) -> Vec<(String, String)> {
        self.seen.lock().unwrap().clone()
    }
}

fn keep(seen: &Seen, uri: &Uri, headers: &HeaderMap) {
    if let Some(tp) = headers.get("traceparent").and_then(|v| v.to_str().ok()) {
        seen.lock()
            .unwrap()
            .push((uri.path().to_owned(), tp.to_owned()));
    }
}

async fn create(State(seen): State<Seen>, uri: Uri, headers: HeaderMap) -> Json<Value> {
    keep(&seen, &uri, &headers);
    Json(json!({"conversation_id": "conv-1", "greeting": "Hello."}))
}

async fn turn(
    State(seen): State<Seen>,
    uri: Uri,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Json<Value> {
    keep(&seen, &uri, &headers);
    let heard = body["text"].as_str().unwrap_or_default();
    Json(json!({"text": format!("You said {heard}.")}))
}
