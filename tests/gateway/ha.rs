//! Two gateway instances on one simulated Asterisk and one real Redis
//! (`[ha]` with `ha.advertise_url`): the call API answers on either
//! instance (reads from Redis, control and originates forwarded to the
//! instance that can act, the caller's token and tenant checked again
//! there), and a call handed over on shutdown keeps its events' numbering
//! and tells the agent its turn in flight was cut.

use crate::{
    api::{SECRET, token},
    rig::speech,
    stub::{Orchestrator, Reply},
    support::{events_path, get_json, wait_for},
};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use vg_asterisk_sim::{Outcome, SimConfig, SimHandle, Simulator};
use vg_testkit::RedisServer;
use voice_gateway::{adapter::config::load_from_str, server::Gateway};

/// One gateway instance, in this process.
struct Node {
    base: String,
    events_file: String,
    /// Until stopped (its events stay readable).
    running: Option<(tokio::sync::oneshot::Sender<()>, Running)>,
}

type Running = tokio::task::JoinHandle<Result<(), voice_gateway::server::ServerError>>;

/// A free loopback port: the instance must know its own URL before it binds.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Node {
    async fn start(
        sim: &SimHandle,
        redis: &RedisServer,
        name: &str,
        rtp: u16,
        extra: &str,
    ) -> Node {
        let (user, pass) = sim.credentials();
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let events_file = events_path();
        let cfg = load_from_str(
            &format!(
                "[http]\nlisten = \"127.0.0.1:{port}\"\n[ari]\nurl = \"{}\"\nusername = \"{user}\"\npassword = \"{pass}\"\n\
                 [events]\npath = \"{events_file}\"\n[speech]\nstt = \"fake\"\ntts = \"fake\"\n\
                 [media]\nrtp_port_range = \"{rtp}-{}\"\n[auth]\njwt_secret = \"{SECRET}\"\n\
                 [dialing.tenants.acme]\ncaller_ids = [\"+1555000\"]\n\
                 [redis]\nurl = \"{}\"\ngateway_instance = \"{name}\"\n\
                 [ha]\nenabled = true\nasterisk = \"pbx-1\"\nlease_ttl = \"1s\"\nrenew_every = \"250ms\"\n\
                 advertise_url = \"{base}\"\n{extra}",
                sim.base_url(),
                rtp + 49,
                redis.url(),
            ),
            Vec::new(),
        )
        .unwrap();
        let gw = Gateway::bind(cfg).await.unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let running = tokio::spawn(gw.run(async {
            let _ = stopped.await;
        }));
        wait_for(&base, "/readyz", |c, _| c == 200).await;
        Node {
            base,
            events_file,
            running: Some((stop, running)),
        }
    }

    async fn role(&self) -> String {
        let (_, body) = get_json(&self.base, "/readyz").await;
        body["role"].as_str().unwrap_or("").to_owned()
    }

    async fn until_role(&self, role: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.role().await != role {
            assert!(Instant::now() < deadline, "{} never {role}", self.base);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn events(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(&self.events_file).unwrap_or_default();
        let whole = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
        whole
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn of_call(&self, call: &str) -> Vec<Value> {
        self.events()
            .into_iter()
            .filter(|e| e["subject"] == call)
            .collect()
    }

    async fn stop(&mut self) {
        let (stop, running) = self.running.take().expect("running");
        stop.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(15), running)
            .await
            .expect("the gateway exits")
            .unwrap()
            .unwrap();
    }
}

/// Two instances: `a` active, `b` standby.
async fn pair(sim: &SimHandle, redis: &RedisServer, extra: &str) -> (Node, Node) {
    let a = Node::start(sim, redis, "gw-a", 33_000, extra).await;
    // A fresh Redis holds the lease back for one ttl, then gw-a takes it.
    a.until_role("active").await;
    let b = Node::start(sim, redis, "gw-b", 33_050, extra).await;
    assert_eq!(b.role().await, "standby");
    (a, b)
}

async fn until(what: &str, mut cond: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn post(base: &str, path: &str, tok: &str, body: Value) -> (u16, Value) {
    let res = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .bearer_auth(tok)
        .json(&body)
        .send()
        .await
        .unwrap();
    let code = res.status().as_u16();
    (code, res.json().await.unwrap_or(Value::Null))
}

async fn get(base: &str, path: &str, tok: &str) -> (u16, Value) {
    let res = reqwest::Client::new()
        .get(format!("{base}{path}"))
        .bearer_auth(tok)
        .send()
        .await
        .unwrap();
    let code = res.status().as_u16();
    (code, res.json().await.unwrap_or(Value::Null))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// `n` DTMF requests for `call` to `base`, each timed.
async fn timed_dtmf(base: &str, call: &str, tok: &str, n: usize) -> Vec<Duration> {
    let mut took = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let (code, body) = post(
            base,
            &format!("/v1/calls/{call}/dtmf"),
            tok,
            json!({"digits": "1"}),
        )
        .await;
        took.push(t.elapsed());
        assert_eq!(code, 202, "{body}");
    }
    took.sort();
    took
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_answers_on_the_standby_by_forwarding_to_the_owner() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    sim.set_outcome(
        "+15550000003",
        Outcome::Answer {
            after: Duration::from_millis(100),
        },
    );
    let redis = RedisServer::start().expect("redis-server starts");
    let (mut a, mut b) = pair(&sim, &redis, "").await;
    let acme = token("acme", "calls:read calls:write");

    // An originate on the standby is placed by the active instance.
    let (code, call) = post(
        &b.base,
        "/v1/calls",
        &acme,
        json!({"to": "+15550000003", "from": "+15550001111", "agent_id": "builtin"}),
    )
    .await;
    assert_eq!(code, 201, "{call}");
    let id = call["call_id"].as_str().unwrap().to_owned();
    // The originate goes to Asterisk beside the 201 (the call is recorded
    // first), so it may land just after it.
    until("the call placed on the simulator", async || {
        !sim.originates().is_empty()
    })
    .await;
    until("the call's events on gw-a", async || {
        a.of_call(&id).iter().any(|e| e["type"] == "call.answered")
    })
    .await;
    assert_eq!(sim.originates().len(), 1, "placed once, on the simulator");
    assert!(b.of_call(&id).is_empty(), "the standby runs nothing");

    // Reads on the standby come from Redis.
    until("the call active, read on the standby", async || {
        get(&b.base, &format!("/v1/calls/{id}"), &acme).await.1["state"] == "active"
    })
    .await;
    let (code, page) = get(&b.base, "/v1/calls", &acme).await;
    assert_eq!(code, 200);
    assert_eq!(page["calls"][0]["call_id"], id.as_str(), "{page}");

    // Control on the standby goes to the owner; its outcome is the owner's.
    let (code, body) = post(
        &b.base,
        &format!("/v1/calls/{id}/say"),
        &acme,
        json!({"text": "Hello from the standby."}),
    )
    .await;
    assert_eq!(
        (code, body["action"].as_str()),
        (202, Some("say")),
        "{body}"
    );
    until("the forwarded say spoken by gw-a", async || {
        a.of_call(&id)
            .iter()
            .any(|e| e["type"] == "tts.generated" && e["data"]["text"] == "Hello from the standby.")
    })
    .await;
    // The owner checks the request again: invalid input is its 422, passed on.
    let (code, body) = post(
        &b.base,
        &format!("/v1/calls/{id}/dtmf"),
        &acme,
        json!({"digits": "x"}),
    )
    .await;
    assert_eq!(code, 422, "{body}");

    // Another tenant's call does not exist for it, on either instance:
    // the standby looks the owner up under the caller's tenant.
    let globex = token("globex", "calls:read calls:write");
    for base in [&a.base, &b.base] {
        let (code, _) = post(
            base,
            &format!("/v1/calls/{id}/hangup"),
            &globex,
            json!(null),
        )
        .await;
        assert_eq!(code, 404, "another tenant's call, at {base}");
        assert_eq!(get(base, &format!("/v1/calls/{id}"), &globex).await.0, 404);
    }
    // A token that does not verify is refused before anything is forwarded.
    let forged = format!("{}x", &acme[..acme.len() - 1]);
    assert_eq!(
        post(
            &b.base,
            &format!("/v1/calls/{id}/hangup"),
            &forged,
            json!(null)
        )
        .await
        .0,
        401
    );
    // Nor can a client make the standby act by claiming the request was forwarded.
    let res = reqwest::Client::new()
        .post(format!("{}/v1/calls/{id}/hangup", b.base))
        .bearer_auth(&globex)
        .header("x-voicegw-forwarded-by", "gw-a")
        .send()
        .await
        .unwrap();
    assert_ne!(res.status(), 202);
    // Unknown call: 404 from the standby.
    let (code, body) = post(&b.base, "/v1/calls/no-such-call/hangup", &acme, json!(null)).await;
    assert_eq!(code, 404, "{body}");

    // Owners that cannot be reached: 503 saying why.
    let mut r = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    for (call, owner, url) in [
        ("c-gone", "gw-c", Some("http://127.0.0.1:1")),
        ("c-silent", "gw-d", None),
    ] {
        let _: () = redis::cmd("HSET")
            .arg(format!("vg:acme:call:{call}"))
            .arg("gw")
            .arg(owner)
            .arg("ended")
            .arg("0")
            .query_async(&mut r)
            .await
            .unwrap();
        if let Some(u) = url {
            let _: () = redis::cmd("SET")
                .arg(format!("vg:gw:{owner}:api"))
                .arg(u)
                .query_async(&mut r)
                .await
                .unwrap();
        }
        let (code, body) = post(
            &b.base,
            &format!("/v1/calls/{call}/hangup"),
            &acme,
            json!(null),
        )
        .await;
        assert_eq!(code, 503, "{body}");
        assert_eq!(
            body["type"],
            "https://voice-gateway.dev/problems/owner-unreachable"
        );
        let detail = body["detail"].as_str().unwrap();
        assert!(detail.contains(owner), "{detail}");
        match url {
            Some(u) => assert!(detail.contains(u), "{detail}"),
            None => assert!(detail.contains("advertises no API URL"), "{detail}"),
        }
    }

    // What forwarding adds: the same request, to the owner and through the standby.
    let n = 50;
    let local = timed_dtmf(&a.base, &id, &acme, n).await;
    let forwarded = timed_dtmf(&b.base, &id, &acme, n).await;
    eprintln!(
        "POST /v1/calls/{{id}}/dtmf, {n} each, loopback: to the owner p50 {:?} p99 {:?}; through the standby p50 {:?} p99 {:?}",
        percentile(&local, 0.5),
        percentile(&local, 0.99),
        percentile(&forwarded, 0.5),
        percentile(&forwarded, 0.99),
    );

    let (code, _) = post(
        &b.base,
        &format!("/v1/calls/{id}/hangup"),
        &acme,
        json!(null),
    )
    .await;
    assert_eq!(code, 202);
    until("call.ended on gw-a", async || {
        a.of_call(&id).iter().any(|e| e["type"] == "call.ended")
    })
    .await;
    b.stop().await;
    a.stop().await;
}

/// The sequence numbers of `events`, in order.
fn sequences(events: &[Value]) -> Vec<u64> {
    events
        .iter()
        .map(|e| e["sequence"].as_u64().expect("every event numbered"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handed_over_call_goes_on_numbering_its_events_and_tells_the_agent() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let redis = RedisServer::start().expect("redis-server starts");
    let orch = Orchestrator::start("Hello, how can I help?", |_, _| {
        Reply::Json(json!({"text": "Sure."}))
    })
    .await;
    let (mut a, mut b) = pair(&sim, &redis, &orch.config("10s")).await;
    let call = sim.place_inbound_call("+15551234567", "+15557654321");
    let mut greeted = Value::Null;
    until("the greeting on gw-a", async || {
        let done = a
            .events()
            .into_iter()
            .find(|e| e["type"] == "tts.generated");
        greeted = done.unwrap_or_default();
        !greeted.is_null()
    })
    .await;
    let id = greeted["subject"].as_str().unwrap().to_owned();
    let acme = token(greeted["data"]["tenant_id"].as_str().unwrap(), "calls:read");
    until("the record in conversation", async || {
        get(&b.base, &format!("/v1/calls/{id}"), &acme).await.1["state"] == "active"
    })
    .await;

    // Shutdown with a standby present: a planned handover.
    a.stop().await;
    b.until_role("active").await;
    until("the call resumed on gw-b", async || {
        !b.of_call(&id).is_empty()
    })
    .await;
    assert!(sim.caller_say(call, &speech(1200)));
    until("the caller's turn at the agent", async || {
        !orch.turns().is_empty()
    })
    .await;
    let turn = orch.turns()[0].clone();
    assert_eq!(turn["resumed_after_takeover"], true, "{turn}");
    until("the reply to it on gw-b", async || {
        b.of_call(&id)
            .iter()
            .filter(|e| e["type"] == "tts.generated")
            .count()
            >= 2
    })
    .await;
    assert!(sim.caller_say(call, &speech(1200)));
    until("the next turn", async || orch.turns().len() >= 2).await;
    assert_eq!(
        orch.turns()[1].get("resumed_after_takeover"),
        None,
        "told once"
    );
    sim.caller_hangup(call);
    until("call.ended on gw-b", async || {
        b.of_call(&id).iter().any(|e| e["type"] == "call.ended")
    })
    .await;

    let (before, after) = (sequences(&a.of_call(&id)), sequences(&b.of_call(&id)));
    eprintln!("sequence on gw-a {before:?}, on gw-b {after:?}");
    let all: Vec<u64> = before.iter().chain(&after).copied().collect();
    // Nothing was lost in a planned handover: 1, 2, 3, … with no gap.
    assert_eq!(
        all,
        (1..=all.len() as u64).collect::<Vec<_>>(),
        "gw-a {before:?}, gw-b {after:?}"
    );
    assert!(!before.is_empty() && !after.is_empty());
    let ended = (a.of_call(&id).into_iter())
        .chain(b.of_call(&id))
        .filter(|e| e["type"] == "call.ended")
        .count();
    assert_eq!(ended, 1, "one call.ended");
    b.stop().await;
}
