//! A scripted orchestrator on 127.0.0.1:0: the turn's text picks the reply.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use futures_util::{Stream, StreamExt, stream};
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub(super) struct Seen {
    pub(super) uri: String,
    pub(super) id: Option<String>,
    pub(super) auth: Option<String>,
    pub(super) body: Value,
}

/// The server's shared record, and a way to learn that a reply body was dropped.
#[derive(Clone, Default)]
pub(super) struct Script {
    pub(super) seen: Arc<Mutex<Vec<Seen>>>,
    dropped: Arc<Mutex<Option<oneshot::Sender<()>>>>,
    cut: Arc<tokio::sync::Notify>,
}

impl Script {
    /// Requests whose turn text (or target) was `scenario`.
    pub(super) fn count(&self, scenario: &str) -> usize {
        let seen = self.seen.lock().unwrap();
        seen.iter()
            .filter(|s| s.body["text"] == scenario || s.body["target"] == scenario)
            .count()
    }

    /// Resolves when the body of a `stall` reply is dropped by the server,
    /// which happens when the client goes away.
    pub(super) fn on_body_dropped(&self) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        *self.dropped.lock().unwrap() = Some(tx);
        rx
    }

    /// Lets a `cut` reply break its connection (after the client has read
    /// its first part, so the failure is mid-body, not mid-headers).
    pub(super) fn cut_now(&self) {
        self.cut.notify_one();
    }

    fn record(&self, uri: &OriginalUri, id: Option<String>, headers: &HeaderMap, body: &Value) {
        self.seen.lock().unwrap().push(Seen {
            uri: uri.0.to_string(),
            id,
            auth: headers
                .get(header::AUTHORIZATION)
                .map(|v| v.to_str().unwrap().to_owned()),
            body: body.clone(),
        });
    }
}

/// Starts the server; returns its base URL. The listener is bound before
/// this returns, so requests queue until the task accepts them.
pub(super) async fn spawn(script: Script) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new()
        .route("/api/v1/conversations", post(create))
        .route("/api/v1/conversations/{id}/turns", post(turn))
        .route("/api/v1/conversations/{id}/transfer", post(transfer))
        .route(
            "/api/v1/conversations/{id}/agent",
            axum::routing::get(agent),
        )
        .with_state(script);
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

async fn create(
    State(s): State<Script>,
    uri: OriginalUri,
    headers: HeaderMap,
    body: axum::Json<Value>,
) -> Response {
    s.record(&uri, None, &headers, &body);
    axum::Json(json!({"conversation_id": "c/1 x?", "greeting": "Hi, I am Ada."})).into_response()
}

/// The agent of a conversation, by its id: `known`, `unversioned`,
/// `none` (404), `bad` (an invalid id), `garbage`, `slow` (never in time).
async fn agent(
    State(s): State<Script>,
    uri: OriginalUri,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    s.record(&uri, Some(id.clone()), &headers, &Value::Null);
    match id.as_str() {
        "known" => {
            axum::Json(json!({"agent_id": "sales", "version": "2026-12-01.3"})).into_response()
        }
        "unversioned" => axum::Json(json!({"agent_id": "support"})).into_response(),
        "bad" => axum::Json(json!({"agent_id": "a b/c"})).into_response(),
        "garbage" => "not json".into_response(),
        "slow" => {
            tokio::time::sleep(std::time::Duration::from_secs(30)).await;
            StatusCode::NO_CONTENT.into_response()
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn transfer(
    State(s): State<Script>,
    uri: OriginalUri,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: axum::Json<Value>,
) -> Response {
    s.record(&uri, Some(id), &headers, &body);
    StatusCode::NO_CONTENT.into_response()
}

fn typed(content_type: &'static str, body: Body) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

fn chunks(parts: &'static [&'static str]) -> impl Stream<Item = Result<Bytes, Infallible>> {
    stream::iter(parts.iter().map(|p| Ok(Bytes::from_static(p.as_bytes()))))
}

/// Signals when dropped: the server dropped the body.
struct DropSignal(Option<oneshot::Sender<()>>);

impl Drop for DropSignal {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}

async fn turn(
    State(s): State<Script>,
    uri: OriginalUri,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: axum::Json<Value>,
) -> Response {
    s.record(&uri, Some(id), &headers, &body);
    let scenario = body["text"].as_str().unwrap_or_default().to_owned();
    const SSE: &str = "text/event-stream";
    const NDJSON: &str = "application/x-ndjson";
    match scenario.as_str() {
        "json" => axum::Json(json!({
            "text": "Hello there. How are you?",
            "actions": [{"type": "transfer", "target": "agents"}],
        }))
        .into_response(),
        "sse" => typed(
            SSE,
            Body::from_stream(chunks(&[
                ": connected\n\n",
                "data: {\"text\":\"Hel\"}\n\n",
                "data: {\"text\":\"lo. \"}\n",
                "\nevent: ping\ndata: {}\n\n",
                "data: {\"action\":{\"type\":\"hangup\"}}\n\ndata: [DO",
                "NE]\n\n",
            ])),
        ),
        "ndjson" => typed(
            NDJSON,
            Body::from_stream(chunks(&[
                "{\"text\":\"One. \"}\n{\"te",
                "xt\":\"Two.\"}\n{\"action\":{\"type\":\"send_dtmf\",\"digits\":\"42\"}}\n",
                "{\"done\":true}\n",
            ])),
        ),
        "slow" => {
            std::future::pending::<()>().await;
            unreachable!("pending never resolves")
        }
        "keepalive" => typed(
            SSE,
            Body::from_stream(chunks(&[": ping\n\n"]).chain(stream::pending())),
        ),
        "stall" => {
            let signal = DropSignal(s.dropped.lock().unwrap().take());
            let first = chunks(&["data: {\"text\":\"Hmm\"}\n\n"]);
            let body = first.chain(stream::pending()).map(move |c| {
                let _keep = &signal; // dropped with the stream
                c
            });
            typed(SSE, Body::from_stream(body))
        }
        "cut" => {
            let cut = s.cut.clone();
            let parts = chunks(&["data: {\"text\":\"Half a \"}\n\n"])
                .map(|r| r.map_err(|e| match e {}))
                .chain(stream::once(async move {
                    cut.notified().await;
                    Err(std::io::Error::other("server died"))
                }));
            typed(SSE, Body::from_stream(parts))
        }
        "eof" => typed(
            NDJSON,
            Body::from_stream(chunks(&["{\"text\":\"Half\"}\n"])),
        ),
        "big" => typed(
            NDJSON,
            Body::from("{\"text\":\"0123456789\"}\n".repeat(200)),
        ),
        "html" => typed("text/html", Body::from("<h1>hi</h1>")),
        "429" => (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "7")]).into_response(),
        "500" => (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(json!({"error": {"message": "model exploded"}})),
        )
            .into_response(),
        "flaky" if s.count("flaky") == 1 => StatusCode::SERVICE_UNAVAILABLE.into_response(),
        "flaky" => axum::Json(json!({"text": "Back again."})).into_response(),
        "down" => (StatusCode::SERVICE_UNAVAILABLE, "maintenance").into_response(),
        other => (StatusCode::BAD_REQUEST, format!("no scenario {other}")).into_response(),
    }
}
