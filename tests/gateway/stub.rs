//! A tiny agent orchestrator on a free loopback port, speaking the HTTP
//! contract of DESIGN.md: it greets, answers each turn from a script (a JSON
//! reply, a reply after a delay, or an HTTP error) and records every turn.

use axum::{
    Json, Router,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::post,
};
use serde_json::{Value, json};
use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

/// What the orchestrator does with one turn.
#[derive(Clone, Debug)]
pub(crate) enum Reply {
    /// Answer at once with this reply object.
    Json(Value),
    /// Answer after this long (past the gateway's reply timeout: a timeout).
    After(Duration, Value),
    /// Fail with this HTTP status.
    Status(u16),
}

type Script = Arc<dyn Fn(usize, &Value) -> Reply + Send + Sync>;

#[derive(Clone)]
struct Shared {
    greeting: String,
    script: Script,
    turns: Arc<Mutex<Vec<Value>>>,
    transfers: Arc<Mutex<Vec<Value>>>,
    agent: Arc<AgentScript>,
}

/// `GET /api/v1/conversations/{id}/agent`: 404 until an agent is set; each
/// answer waits for the gate while it is closed.
#[derive(Default)]
pub(crate) struct AgentScript {
    agent: Mutex<Option<Value>>,
    asked: Mutex<usize>,
    gate_closed: std::sync::atomic::AtomicBool,
    gate: tokio::sync::Notify,
}

pub(crate) struct Orchestrator {
    pub(crate) url: String,
    turns: Arc<Mutex<Vec<Value>>>,
    transfers: Arc<Mutex<Vec<Value>>>,
    agent: Arc<AgentScript>,
    _server: tokio::task::JoinHandle<()>,
}

impl Orchestrator {
    /// Serves until dropped; `script(n, body)` answers turn `n` (0-based).
    pub(crate) async fn start(
        greeting: &str,
        script: impl Fn(usize, &Value) -> Reply + Send + Sync + 'static,
    ) -> Orchestrator {
        let shared = Shared {
            greeting: greeting.to_owned(),
            script: Arc::new(script),
            turns: Arc::default(),
            transfers: Arc::default(),
            agent: Arc::default(),
        };
        let app = Router::new()
            .route("/api/v1/conversations", post(create))
            .route("/api/v1/conversations/{id}/turns", post(turn))
            .route("/api/v1/conversations/{id}/transfer", post(transfer))
            .route(
                "/api/v1/conversations/{id}/agent",
                axum::routing::get(agent),
            )
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Orchestrator {
            url,
            turns: shared.turns,
            transfers: shared.transfers,
            agent: shared.agent,
            _server: server,
        }
    }

    /// The `[orchestrator]` section pointing the gateway here.
    pub(crate) fn config(&self, reply_timeout: &str) -> String {
        format!(
            "[orchestrator]\nurl = \"{}\"\nreply_timeout = \"{reply_timeout}\"\n",
            self.url
        )
    }

    /// Every turn received so far (its JSON body).
    pub(crate) fn turns(&self) -> Vec<Value> {
        self.turns.lock().unwrap().clone()
    }

    /// What the agent lookup answers from now on (`None`: 404).
    pub(crate) fn set_agent(&self, agent: Option<Value>) {
        *self.agent.agent.lock().unwrap() = agent;
    }

    /// Agent lookups answered or waiting so far.
    pub(crate) fn agent_lookups(&self) -> usize {
        *self.agent.asked.lock().unwrap()
    }

    /// Holds every agent lookup (`true`) until opened again (`false`).
    pub(crate) fn hold_agent_lookups(&self, hold: bool) {
        use std::sync::atomic::Ordering;
        self.agent.gate_closed.store(hold, Ordering::SeqCst);
        if !hold {
            self.agent.gate.notify_waiters();
        }
    }

    /// Every transfer notification received so far.
    pub(crate) fn transfers(&self) -> Vec<Value> {
        self.transfers.lock().unwrap().clone()
    }
}

impl Drop for Orchestrator {
    fn drop(&mut self) {
        self._server.abort();
    }
}

async fn create(State(s): State<Shared>, Json(_): Json<Value>) -> Json<Value> {
    Json(json!({"conversation_id": "conv-1", "greeting": s.greeting}))
}

async fn turn(State(s): State<Shared>, Json(body): Json<Value>) -> Response {
    let n = {
        let mut turns = s.turns.lock().unwrap();
        turns.push(body.clone());
        turns.len() - 1
    };
    match (s.script)(n, &body) {
        Reply::Json(v) => Json(v).into_response(),
        Reply::After(d, v) => {
            tokio::time::sleep(d).await;
            Json(v).into_response()
        }
        Reply::Status(code) => (
            StatusCode::from_u16(code).unwrap(),
            Json(json!({"error": "scripted failure"})),
        )
            .into_response(),
    }
}

async fn transfer(State(s): State<Shared>, Json(body): Json<Value>) -> StatusCode {
    s.transfers.lock().unwrap().push(body);
    StatusCode::NO_CONTENT
}

async fn agent(State(s): State<Shared>) -> Response {
    use std::sync::atomic::Ordering;
    *s.agent.asked.lock().unwrap() += 1;
    loop {
        let opened = s.agent.gate.notified();
        if !s.agent.gate_closed.load(Ordering::SeqCst) {
            break;
        }
        opened.await;
    }
    match s.agent.agent.lock().unwrap().clone() {
        Some(v) => Json(v).into_response(),
        None => (StatusCode::NOT_FOUND, Json(json!({"error": "no agent"}))).into_response(),
    }
}
