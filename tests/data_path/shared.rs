//! Two gateway instances, each with its own Asterisk, on one Redis: a retried
//! `POST /v1/calls` that lands on the other instance replays the first call
//! instead of dialling twice, and either instance answers for the call.

use crate::support::until;
use jsonwebtoken::{EncodingKey, Header, encode};
use serde_json::{Value, json};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use vg_asterisk_sim::{Outcome, SimConfig, SimHandle, Simulator};
use vg_testkit::RedisServer;
use voice_gateway::{adapter::config::load_from_str, server::Gateway};

const SECRET: &str = "test-secret-of-at-least-thirty-two-bytes!";

fn token() -> String {
    let exp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    let claims =
        json!({"sub": "crm", "tenant_id": "acme", "scope": "calls:read calls:write", "exp": exp});
    encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

/// A running gateway: its base URL and what stops it.
struct Running {
    base: String,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), voice_gateway::server::ServerError>>,
}

async fn start(sim: &SimHandle, redis: &str, instance: &str, ports: &str) -> Running {
    let (user, pass) = sim.credentials();
    let cfg = load_from_str(
        &format!(
            "[http]\nlisten = \"127.0.0.1:0\"\n[ari]\nurl = \"{}\"\nusername = \"{user}\"\npassword = \"{pass}\"\n\
             [lifecycle]\ndrain_deadline = \"1s\"\n[speech]\nstt = \"fake\"\ntts = \"fake\"\n\
             [media]\nrtp_port_range = \"{ports}\"\n[auth]\njwt_secret = \"{SECRET}\"\n\
             [redis]\nurl = \"{redis}\"\ngateway_instance = \"{instance}\"\n",
            sim.base_url(),
        ),
        Vec::new(),
    )
    .unwrap();
    let gw = Gateway::bind(cfg).await.unwrap();
    let base = format!("http://{}", gw.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(gw.run(async {
        let _ = stopped.await;
    }));
    until(&format!("{instance} ready"), 20, async || {
        reqwest::get(format!("{base}/readyz"))
            .await
            .is_ok_and(|r| r.status() == 200)
    })
    .await;
    Running { base, stop, task }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_on_another_instance_replays_the_call_from_redis() {
    let redis = RedisServer::start().unwrap();
    let (sim_a, sim_b) = (
        Simulator::start(SimConfig::default()).await.unwrap(),
        Simulator::start(SimConfig::default()).await.unwrap(),
    );
    for sim in [&sim_a, &sim_b] {
        sim.set_outcome("+15550000009", Outcome::NoAnswer);
    }
    let a = start(&sim_a, &redis.url(), "gw-a", "31500-31549").await;
    let b = start(&sim_b, &redis.url(), "gw-b", "31550-31599").await;
    let http = reqwest::Client::new();
    let tok = token();
    let post = async |base: &str| {
        http.post(format!("{base}/v1/calls"))
            .bearer_auth(&tok)
            .header("Idempotency-Key", "order-42")
            .json(&json!({"to": "+15550000009", "agent_id": "builtin", "ring_timeout_secs": 30}))
            .send()
            .await
            .unwrap()
    };

    let first = post(&a.base).await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let retry = post(&b.base).await;
    assert_eq!(retry.status(), 200, "a replay, not a second call");
    let retry: Value = retry.json().await.unwrap();
    assert_eq!(retry["call_id"], first["call_id"], "{retry}");
    assert_eq!(sim_a.originates().len(), 1);
    assert!(sim_b.originates().is_empty(), "instance b dialled nothing");

    // Either instance reads the call from Redis.
    let id = first["call_id"].as_str().unwrap();
    let seen = http
        .get(format!("{}/v1/calls/{id}", b.base))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap();
    assert_eq!(seen.status(), 200);
    let seen: Value = seen.json().await.unwrap();
    assert_eq!(seen["call_id"], id);

    for g in [a, b] {
        g.stop.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(20), g.task)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }
}
