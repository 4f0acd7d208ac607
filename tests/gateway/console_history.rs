//! The console's page of a call that ended before the gateway restarted:
//! the restarted gateway holds nothing of it, so the page comes from the
//! call history in a real PostgreSQL, with the turns and figures the call's
//! `call.ended` reported; another tenant's token finds nothing; the page in
//! a real browser shows the same stage bars and says what the record lacks.
//! `GET /v1/calls/{id}` finds the call in the history as well.

use crate::{
    browser::Browser,
    console::{ACME_DID, SECRET, SLOW, assert_figures_match, event, speech, text, token},
    support::{events_path, wait_for},
};
use serde_json::Value;
use std::{path::Path, time::Duration};
use tokio::{sync::oneshot, task::JoinHandle, time::Instant};
use tokio_postgres::{Client, NoTls};
use vg_asterisk_sim::{SimConfig, SimHandle, Simulator};
use vg_testkit::PostgresServer;
use voice_gateway::{adapter::config::load_from_str, server::Gateway};

/// A gateway on the simulator whose history (and nothing else: its routes
/// are the file's) is in PostgreSQL at `db`.
struct Running {
    base: String,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), voice_gateway::server::ServerError>>,
}

async fn gateway(sim: &SimHandle, events_file: &str, db: &str) -> Running {
    let (user, pass) = sim.credentials();
    let cfg = load_from_str(
        &format!(
            "[http]\nlisten = \"127.0.0.1:0\"\n[ari]\nurl = \"{}\"\nusername = \"{user}\"\npassword = \"{pass}\"\n\
             [events]\npath = \"{events_file}\"\n[speech]\nstt = \"fake\"\ntts = \"fake\"\n\
             [media]\nrtp_port_range = \"34700-34799\"\n[auth]\njwt_secret = \"{SECRET}\"\n\
             [postgres]\nurl = \"{db}\"\n[directory]\nchain = [\"routes\"]\n\
             [[routes]]\ndid = \"{ACME_DID}\"\ntenant = \"acme\"\nagent = \"builtin\"\n",
            sim.base_url()
        ),
        Vec::new(),
    )
    .unwrap();
    let gw = Gateway::bind(cfg).await.unwrap();
    let base = format!("http://{}", gw.local_addr());
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(gw.run(async {
        let _ = stopped.await;
    }));
    wait_for(&base, "/readyz", |c, _| c == 200).await;
    Running { base, stop, task }
}

async fn sql(url: &str) -> Client {
    let (client, conn) = tokio_postgres::connect(url, NoTls).await.unwrap();
    tokio::spawn(conn);
    client
}

async fn page(base: &str, id: &str, bearer: &str) -> (u16, Value) {
    read(base, &format!("/console/api/calls/{id}"), bearer).await
}

async fn read(base: &str, path: &str, bearer: &str) -> (u16, Value) {
    let res = reqwest::Client::new()
        .get(format!("{base}{path}"))
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap();
    let code = res.status().as_u16();
    (code, res.json().await.unwrap_or(Value::Null))
}

/// A call on gateway A: the caller barges in on the greeting, the agent
/// answers, the caller hangs up. Returns the call id and its `call.ended`
/// and `call.bargein` events.
async fn a_call(sim: &SimHandle, events_file: &str) -> (String, Value, Value) {
    let call = sim.place_inbound_call(ACME_DID, "+15552220000");
    let started = event(events_file, "call.started", None, "acme", 1).await;
    let id = started["subject"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + SLOW;
    while sim.received(call).len() < 50 {
        assert!(Instant::now() < deadline, "the greeting never played");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(sim.caller_say(call, &speech()));
    let barge = event(events_file, "call.bargein", Some(&id), "acme", 1).await;
    event(events_file, "tts.generated", Some(&id), "acme", 1).await;
    sim.caller_hangup(call);
    let ended = event(events_file, "call.ended", Some(&id), "acme", 1).await;
    (id, ended, barge)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ended_calls_page_after_a_restart_comes_from_the_call_history() {
    let pg = PostgresServer::start().expect("postgres starts");
    sql(&pg.url("postgres"))
        .await
        .batch_execute("CREATE DATABASE vg")
        .await
        .unwrap();
    let db = pg.url("vg");
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let events_file = events_path();
    let a = gateway(&sim, &events_file, &db).await;
    let (id, ended, barge) = a_call(&sim, &events_file).await;
    let acme = token("acme", "calls:read");
    let (code, held) = page(&a.base, &id, &acme).await;
    assert_eq!((code, &held["source"]), (200, &Value::from("events")));

    // The record is written (its queue is asynchronous), then A stops.
    let check = sql(&db).await;
    let deadline = Instant::now() + SLOW;
    while check
        .query_one(
            "SELECT count(*) FROM call_records WHERE call_id = $1",
            &[&id],
        )
        .await
        .unwrap()
        .get::<_, i64>(0)
        == 0
    {
        assert!(
            Instant::now() < deadline,
            "the call record was never written"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    a.stop.send(()).unwrap();
    a.task.await.unwrap().unwrap();

    // B: a new process on the same database, holding nothing of the call.
    let b = gateway(&sim, &events_path(), &db).await;
    let (code, call) = page(&b.base, &id, &acme).await;
    assert_eq!(code, 200, "{call}");
    assert_eq!(call["source"], "history");
    assert_eq!(call["state"], "ended");
    assert_eq!(call["end_reason"], ended["data"]["reason"]);
    assert_eq!(call["duration_ms"], ended["data"]["duration_ms"]);
    assert_eq!(call["turn"], ended["data"]["turns"]);
    assert_eq!(
        call["latency"], ended["data"]["latency"],
        "each reply's figures as call.ended reported them"
    );
    let exchanges = call["exchanges"].as_array().unwrap();
    let cut: Vec<&Value> = exchanges
        .iter()
        .filter(|e| !e["barge_in"].is_null())
        .collect();
    assert_eq!(cut.len(), 1, "{exchanges:?}");
    assert_eq!(cut[0]["barge_in"]["delay_ms"], barge["data"]["delay_ms"]);
    assert_eq!(cut[0]["barge_in"]["heard_ms"], barge["data"]["heard_ms"]);
    assert_eq!(
        cut[0]["barge_in"]["heard_text"],
        barge["data"]["heard_text"]
    );
    assert!(
        exchanges.iter().any(|e| e["caller"]
            .as_str()
            .is_some_and(|c| c.contains("utterance 1"))),
        "{exchanges:?}"
    );
    assert!(
        call["not_recorded"]
            .as_array()
            .unwrap()
            .contains(&"notes".into())
    );

    // Tenant isolation holds for history reads.
    let (code, _) = page(&b.base, &id, &token("globex", "calls:read")).await;
    assert_eq!(code, 404, "globex reads acme's record");
    let (code, _) = page(&b.base, &id, &token("ops", "console:read")).await;
    assert_eq!(code, 200);

    // The call API's read falls back to the history too.
    let (code, summary) = read(&b.base, &format!("/v1/calls/{id}"), &acme).await;
    assert_eq!(code, 200, "{summary}");
    assert_eq!(summary["state"], "ended");
    assert_eq!(summary["end_reason"], ended["data"]["reason"]);
    assert_eq!(summary["to"], ACME_DID);
    let globex = token("globex", "calls:read");
    let (code, _) = read(&b.base, &format!("/v1/calls/{id}"), &globex).await;
    assert_eq!(code, 404, "globex reads acme's call summary");

    // The page in a browser: the same bars, and where it came from.
    let scratch = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("console-history-{}", uuid::Uuid::new_v4()));
    let browser = Browser::start(&scratch).await;
    browser
        .client
        .goto(&format!("{}/console#token={acme}", b.base))
        .await
        .unwrap();
    browser.until_present("#ready-state", SLOW).await;
    browser
        .client
        .goto(&format!("{}/console#/call/{id}", b.base))
        .await
        .unwrap();
    assert_figures_match(&browser, &ended).await;
    let delay = browser.attrs("#turns .barge", "data-delay-ms").await;
    assert_eq!(
        delay[0].as_deref().and_then(|d| d.parse::<f64>().ok()),
        barge["data"]["delay_ms"].as_f64()
    );
    assert_eq!(
        text(&browser, "[data-fact='Transport']").await,
        "not recorded"
    );
    assert!(
        text(&browser, "#call-source")
            .await
            .contains("call history")
    );
    browser.screenshot("history-call-page").await;
    browser.stop().await;
    b.stop.send(()).unwrap();
    b.task.await.unwrap().unwrap();
}
