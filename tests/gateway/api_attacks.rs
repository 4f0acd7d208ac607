//! Attacks on the call API of a running gateway (real HTTP, the simulator as
//! Asterisk), one test per attack: dial-string and channel-variable injection
//! in every field that reaches ARI, oversized and deeply nested bodies, and
//! one tenant reaching for another's calls. Each must be refused with a
//! problem document and leave Asterisk untouched.

use crate::support::{events_path, wait_for};
use jsonwebtoken::{EncodingKey, Header, encode};
use serde_json::{Value, json};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use vg_asterisk_sim::{Outcome, SimConfig, SimHandle, Simulator};
use voice_gateway::{adapter::config::load_from_str, server::Gateway};

const SECRET: &str = "attack-suite-secret-of-at-least-32-bytes";

fn token(tenant: &str) -> String {
    let exp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    let claims =
        json!({"sub": "crm", "tenant_id": tenant, "scope": "calls:read calls:write", "exp": exp});
    encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

struct Api {
    sim: SimHandle,
    base: String,
    http: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    running: tokio::task::JoinHandle<Result<(), voice_gateway::server::ServerError>>,
}

impl Api {
    async fn start(ports: &str) -> Api {
        let sim = Simulator::start(SimConfig::default()).await.unwrap();
        let (user, pass) = sim.credentials();
        let cfg = load_from_str(
            &format!(
                "[http]\nlisten = \"127.0.0.1:0\"\n[ari]\nurl = \"{}\"\nusername = \"{user}\"\n\
                 password = \"{pass}\"\n[events]\npath = \"{}\"\n[speech]\nstt = \"fake\"\n\
                 tts = \"fake\"\n[media]\nrtp_port_range = \"{ports}\"\n[auth]\n\
                 jwt_secret = \"{SECRET}\"\n[session]\ntransfer_mode = \"attended\"\n\
                 [session.transfer_endpoints]\nagents = \"PJSIP/agents\"\n\
                 [lifecycle]\ndrain_deadline = \"2s\"\n",
                sim.base_url(),
                events_path()
            ),
            Vec::new(),
        )
        .unwrap();
        let gw = Gateway::bind(cfg).await.unwrap();
        let base = format!("http://{}", gw.local_addr());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let running = tokio::spawn(gw.run(async {
            let _ = stopped.await;
        }));
        wait_for(&base, "/readyz", |c, _| c == 200).await;
        Api {
            sim,
            base,
            // One connection per request: a body refused unread (413) makes
            // the server close its connection, and a pooled one could be
            // reused just as it closes (IncompleteMessage, seen once in CI).
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .build()
                .unwrap(),
            stop: Some(stop),
            running,
        }
    }

    async fn post(&self, tenant: &str, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(token(tenant))
            .json(&body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or_default())
    }

    async fn get(&self, tenant: &str, path: &str) -> (u16, Value) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(token(tenant))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or_default())
    }

    /// An answered outbound call of `tenant`; its id.
    async fn live_call(&self, tenant: &str) -> String {
        self.sim.set_outcome(
            "+15550000003",
            Outcome::Answer {
                after: Duration::from_millis(50),
            },
        );
        let (status, view) = self
            .post(
                tenant,
                "/v1/calls",
                json!({"to": "+15550000003", "agent_id": "builtin"}),
            )
            .await;
        assert_eq!(status, 201, "{view}");
        let id = view["call_id"].as_str().unwrap().to_owned();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while self.get(tenant, &format!("/v1/calls/{id}")).await.1["state"] != "active" {
            assert!(tokio::time::Instant::now() < deadline, "never answered");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        id
    }

    /// Hangs the call up and waits for its end.
    async fn hang_up(&self, tenant: &str, id: &str) {
        let (status, _) = self
            .post(tenant, &format!("/v1/calls/{id}/hangup"), json!({}))
            .await;
        assert_eq!(status, 202);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while self.get(tenant, &format!("/v1/calls/{id}")).await.1["state"] != "ended" {
            assert!(tokio::time::Instant::now() < deadline, "never ended");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn stop(mut self) {
        self.stop.take().unwrap().send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(10), self.running)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }
}

/// A problem document of `status` naming `field`.
fn refused(reply: &(u16, Value), status: u16, field: &str, what: &str) {
    assert_eq!(reply.0, status, "{what}: {}", reply.1);
    assert_eq!(reply.1["field"], field, "{what}: {}", reply.1);
    assert!(reply.1["detail"].is_string(), "{what}: {}", reply.1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dial_string_and_variable_injection_is_refused_in_every_field_that_reaches_ari() {
    let api = Api::start("31500-31549").await;
    let originates = [
        ("to", json!({"to": "+15550000003&PJSIP/evil"})),
        ("to", json!({"to": "PJSIP/+15550000003@trunk"})),
        ("to", json!({"to": "+1555000000,tT"})),
        ("to", json!({"to": "+15550000003\n"})),
        ("to", json!({"to": "${SHELL}"})),
        (
            "from",
            json!({"to": "+15550000003", "from": "\"Bob\" <+15550001111>"}),
        ),
        (
            "from",
            json!({"to": "+15550000003", "from": "+1555;x=${CDR(src)}"}),
        ),
        (
            "agent_id",
            json!({"to": "+15550000003", "agent_id": "a/../b"}),
        ),
        (
            "agent_id",
            json!({"to": "+15550000003", "agent_id": "x${EXTEN}"}),
        ),
    ];
    for (field, body) in originates {
        let reply = api.post("acme", "/v1/calls", body.clone()).await;
        refused(&reply, 422, field, &body.to_string());
    }
    assert!(api.sim.originates().is_empty(), "nothing was dialled");

    let id = api.live_call("acme").await;
    let actions = [
        (
            "transfer",
            "target",
            json!({"target": "100&PJSIP/evil", "mode": "blind"}),
        ),
        (
            "transfer",
            "target",
            json!({"target": "PJSIP/agents", "mode": "attended"}),
        ),
        (
            "transfer",
            "target",
            json!({"target": "100,tT", "mode": "attended"}),
        ),
        (
            "transfer",
            "target",
            json!({"target": "${EXTEN}", "mode": "blind"}),
        ),
        ("dtmf", "digits", json!({"digits": "12&34"})),
        ("dtmf", "digits", json!({"digits": "1,w${X}"})),
        ("dtmf", "digits", json!({"digits": "1".repeat(200)})),
    ];
    for (action, field, body) in actions {
        let reply = api
            .post("acme", &format!("/v1/calls/{id}/{action}"), body.clone())
            .await;
        refused(&reply, 422, field, &body.to_string());
    }
    assert_eq!(api.sim.originates().len(), 1, "only the call itself");
    let (status, view) = api.get("acme", &format!("/v1/calls/{id}")).await;
    assert_eq!((status, view["state"].as_str()), (200, Some("active")));
    api.hang_up("acme", &id).await;
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_and_deeply_nested_bodies_are_refused_and_the_api_keeps_serving() {
    let api = Api::start("31550-31599").await;
    let huge = json!({"to": "+15550000003", "metadata": {"blob": "x".repeat(64 * 1024)}});
    let (status, problem) = api.post("acme", "/v1/calls", huge).await;
    assert_eq!(status, 413, "{problem}");
    // 5,000 levels of arrays: refused without blowing the stack.
    let nested = format!(
        "{{\"to\": \"+15550000003\", \"metadata\": {}1{}}}",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    let r = api
        .http
        .post(format!("{}/v1/calls", api.base))
        .bearer_auth(token("acme"))
        .header("content-type", "application/json")
        .body(nested)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    assert!(matches!(status, 400 | 413 | 422), "{status}");
    // Many small fields: within the size limit, refused by the metadata rules.
    let wide: serde_json::Map<String, Value> =
        (0..500).map(|i| (format!("k{i}"), json!("v"))).collect();
    let (status, problem) = api
        .post(
            "acme",
            "/v1/calls",
            json!({"to": "+15550000003", "metadata": wide}),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    assert!(api.sim.originates().is_empty());
    let (status, _) = api.get("acme", "/v1/calls").await;
    assert_eq!(status, 200, "still serving");
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_tenant_can_neither_read_list_nor_control_anothers_calls() {
    let api = Api::start("31600-31649").await;
    let id = api.live_call("acme").await;
    let (status, _) = api.get("globex", &format!("/v1/calls/{id}")).await;
    assert_eq!(status, 404, "another tenant's call does not exist for it");
    let (_, list) = api.get("globex", "/v1/calls").await;
    assert_eq!(list["calls"].as_array().map(Vec::len), Some(0), "{list}");
    let attempts = [
        ("hangup", json!({})),
        ("transfer", json!({"target": "100", "mode": "blind"})),
        ("say", json!({"text": "your call is being recorded"})),
        ("dtmf", json!({"digits": "1"})),
    ];
    for (action, body) in attempts {
        let (status, problem) = api
            .post("globex", &format!("/v1/calls/{id}/{action}"), body)
            .await;
        assert_eq!(status, 404, "{action}: {problem}");
    }
    let (status, view) = api.get("acme", &format!("/v1/calls/{id}")).await;
    assert_eq!((status, view["state"].as_str()), (200, Some("active")));
    let (_, list) = api.get("acme", "/v1/calls").await;
    assert_eq!(list["calls"].as_array().map(Vec::len), Some(1), "{list}");
    api.hang_up("acme", &id).await;
    api.stop().await;
}
