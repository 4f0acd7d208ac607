//! The tenant-manager directory against a fake tenant-manager on loopback:
//! the adapter alone (lookups, cache, negative cache, faults, outage), then
//! a gateway on the simulator routing calls through it.

use crate::{
    rig::Rig,
    tenant_manager_fake::{Fault, TenantManager},
};
use serde_json::json;
use std::time::Duration;
use vg_asterisk_sim::SimConfig;
use voice_gateway::{
    adapter::{config::load_from_str, directory::TenantManagerDirectory},
    application::ports::directory::TenantDirectory,
    domain::{Did, TenantId},
};

const ACME_DID: &str = "+15551230001";
const GLOBEX_DID: &str = "+15551230002";
const UNKNOWN_DID: &str = "+15559990000";

async fn fake() -> TenantManager {
    let tm = TenantManager::start().await;
    tm.tenant(
        "acme",
        json!({"provider": "deepgram", "fallback": ["whisper"]}),
        json!({"provider": "piper"}),
    );
    tm.tenant(
        "globex",
        json!({"provider": "fake"}),
        json!({"provider": "fake"}),
    );
    tm.map_did("acme", ACME_DID, "sales");
    tm.map_did("globex", GLOBEX_DID, "support");
    tm
}

/// The adapter with `extra` keys of `[tenant_manager]`.
fn directory(tm: &TenantManager, extra: &str) -> TenantManagerDirectory {
    let cfg = load_from_str(
        &format!(
            "[tenant_manager]\nurl = \"{}\"\ntoken = \"s3cret-token\"\ntenants = [\"acme\", \"globex\"]\n\
             cool_down = \"0s\"\n{extra}",
            tm.url
        ),
        Vec::new(),
    )
    .unwrap();
    TenantManagerDirectory::new(&cfg.tenant_manager).unwrap()
}

fn did(d: &str) -> Did {
    Did::parse(d).unwrap()
}

/// Looks `d` up until `cond` holds on the fake (a TTL expiring is seen
/// as the fake's next request, never as a timed assert).
async fn until_fetched(dir: &TenantManagerDirectory, tm: &TenantManager, d: &str, n: usize) {
    let tail = format!("/dids/{d}");
    for _ in 0..500 {
        if tm.count(&tail) >= n {
            return;
        }
        let _ = dir.lookup(&did(d)).await;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{d} was not fetched {n} times: {:?}", tm.seen());
}

#[tokio::test]
async fn a_did_routes_to_its_tenant_with_its_settings_and_is_cached() {
    let tm = fake().await;
    let dir = directory(&tm, "cache_ttl = \"1h\"");
    let r = dir
        .lookup(&did(ACME_DID))
        .await
        .unwrap()
        .expect("acme's DID routes");
    assert_eq!((r.tenant.as_str(), r.agent.as_str()), ("acme", "sales"));
    assert_eq!(r.stt.as_deref(), Some("deepgram"));
    assert_eq!(r.stt_fallback, ["whisper"]);
    assert_eq!(r.tts.as_deref(), Some("piper"));
    assert_eq!(r.max_live_calls, Some(50));
    let g = dir.lookup(&did(GLOBEX_DID)).await.unwrap().unwrap();
    assert_eq!((g.tenant.as_str(), g.agent.as_str()), ("globex", "support"));
    let asked = tm.seen().len();
    // Both tenants were asked for each DID, each tenant's settings once.
    assert_eq!(asked, 2 + 2 + 2, "{:?}", tm.seen());
    for _ in 0..10 {
        assert_eq!(dir.lookup(&did(ACME_DID)).await.unwrap(), Some(r.clone()));
    }
    assert_eq!(tm.seen().len(), asked, "a fresh route is not asked again");
    assert!(
        tm.seen()
            .iter()
            .all(|s| s.authorization.as_deref() == Some("Bearer s3cret-token"))
    );
    let owner = dir.owner(&did(GLOBEX_DID)).await.unwrap();
    assert_eq!(owner, Some(TenantId::parse("globex").unwrap()));
}

#[tokio::test]
async fn an_unknown_did_is_remembered_then_asked_again() {
    let tm = fake().await;
    let dir = directory(&tm, "negative_ttl = \"50ms\"");
    assert_eq!(dir.lookup(&did(UNKNOWN_DID)).await.unwrap(), None);
    let tail = format!("/dids/{UNKNOWN_DID}");
    assert_eq!(tm.count(&tail), 2, "asked of both tenants");
    assert_eq!(dir.lookup(&did(UNKNOWN_DID)).await.unwrap(), None);
    assert_eq!(
        tm.count(&tail),
        2,
        "within negative_ttl it is not asked again"
    );
    // Once the negative entry expires the DID is asked again, and a DID
    // the tenant-manager learnt meanwhile routes.
    tm.map_did("acme", UNKNOWN_DID, "late");
    until_fetched(&dir, &tm, UNKNOWN_DID, 3).await;
    let r = dir.lookup(&did(UNKNOWN_DID)).await.unwrap().unwrap();
    assert_eq!(r.agent.as_str(), "late");
}

#[tokio::test]
async fn an_outage_keeps_known_dids_and_makes_new_ones_unknown() {
    let mut tm = fake().await;
    let dir = directory(&tm, "cache_ttl = \"20ms\"\nstale_for = \"1h\"");
    let before = dir.lookup(&did(ACME_DID)).await.unwrap().unwrap();
    tm.stop().await;
    // Past its TTL the route is asked again, fails, and the stale one serves.
    for _ in 0..20 {
        assert_eq!(
            dir.lookup(&did(ACME_DID)).await.unwrap(),
            Some(before.clone())
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(
        dir.lookup(&did(GLOBEX_DID)).await.unwrap(),
        None,
        "never seen: unknown"
    );
    // Back: new DIDs route again.
    tm.restart().await;
    assert_eq!(
        dir.lookup(&did(GLOBEX_DID))
            .await
            .unwrap()
            .map(|r| r.tenant.to_string())
            .as_deref(),
        Some("globex")
    );
}

/// Each fault: a DID seen before keeps its route, one never seen is unknown.
async fn under_fault(fault: Fault, extra: &str) {
    let tm = fake().await;
    let dir = directory(&tm, &format!("cache_ttl = \"10ms\"\n{extra}"));
    let known = dir.lookup(&did(ACME_DID)).await.unwrap().unwrap();
    tm.set_fault(fault.clone());
    until_fetched(&dir, &tm, ACME_DID, 3).await;
    assert_eq!(
        dir.lookup(&did(ACME_DID)).await.unwrap(),
        Some(known),
        "{fault:?}"
    );
    assert_eq!(
        dir.lookup(&did(GLOBEX_DID)).await.unwrap(),
        None,
        "{fault:?}"
    );
    tm.set_fault(Fault::None);
    assert!(
        dir.lookup(&did(GLOBEX_DID)).await.unwrap().is_some(),
        "{fault:?}"
    );
}

#[tokio::test]
async fn a_500_serves_the_stale_route() {
    under_fault(Fault::Status(500), "").await;
}

#[tokio::test]
async fn bad_json_is_refused_and_the_stale_route_serves() {
    under_fault(Fault::Body("{\"did\": 5"), "").await;
    under_fault(
        Fault::Body("{\"did\":\"+15551230001\",\"tenant_id\":\"globex\",\"agent_id\":\"x\"}"),
        "",
    )
    .await;
    under_fault(Fault::Body("[]"), "").await;
}

#[tokio::test]
async fn a_slow_tenant_manager_times_out_and_the_stale_route_serves() {
    under_fault(Fault::Delay(Duration::from_secs(5)), "timeout = \"100ms\"").await;
}

#[tokio::test]
async fn after_a_failure_it_is_not_asked_during_the_cool_down() {
    let tm = fake().await;
    let cfg = load_from_str(
        &format!(
            "[tenant_manager]\nurl = \"{}\"\ntenants = [\"acme\", \"globex\"]\n\
             cache_ttl = \"1ms\"\ncool_down = \"5m\"\n",
            tm.url
        ),
        Vec::new(),
    )
    .unwrap();
    let dir = TenantManagerDirectory::new(&cfg.tenant_manager).unwrap();
    let known = dir.lookup(&did(ACME_DID)).await.unwrap().unwrap();
    tm.set_fault(Fault::Status(503));
    until_fetched(&dir, &tm, ACME_DID, 3).await;
    let asked = tm.seen().len();
    tm.set_fault(Fault::None);
    for _ in 0..20 {
        assert_eq!(
            dir.lookup(&did(ACME_DID)).await.unwrap(),
            Some(known.clone())
        );
        assert_eq!(dir.lookup(&did(GLOBEX_DID)).await.unwrap(), None);
    }
    assert_eq!(tm.seen().len(), asked, "not asked while cooling down");
}

#[tokio::test]
async fn bad_settings_make_the_did_unknown_not_half_routed() {
    let tm = fake().await;
    tm.set_settings(
        "acme",
        json!({"tenant_id": "acme", "language": "not a language"}),
    );
    let dir = directory(&tm, "");
    assert_eq!(dir.lookup(&did(ACME_DID)).await.unwrap(), None);
    assert!(dir.lookup(&did(GLOBEX_DID)).await.unwrap().is_some());
}

/// `[tenant_manager]` and `[directory]` for a rig; `chain` as given.
fn gateway_config(tm: &TenantManager, chain: &str) -> String {
    format!(
        "[tenant_manager]\nurl = \"{}\"\ntenants = [\"acme\", \"globex\"]\ncache_ttl = \"20ms\"\n\
         timeout = \"500ms\"\n[directory]\nchain = {chain}\n\
         [[routes]]\ndid = \"+1666*\"\ntenant = \"local\"\nagent = \"builtin\"\n",
        tm.url
    )
}

/// A call to `d` on the rig; waits for its end and returns its
/// `call.started` envelope and `call.ended` data.
async fn call(rig: &Rig, d: &str, n: usize) -> (serde_json::Value, serde_json::Value) {
    let spoken = rig.count("tts.generated");
    let call = rig.sim.place_inbound_call(d, "+4930123456");
    rig.until(&format!("call {n} greeted or refused"), |r| {
        r.count("tts.generated") > spoken || r.count("call.ended") > n
    })
    .await;
    rig.sim.caller_hangup(call);
    rig.until_count("call.ended", n + 1).await;
    let events = rig.events();
    let started = events
        .iter()
        .filter(|e| e["type"] == "call.started")
        .nth(n)
        .unwrap()
        .clone();
    (started, rig.data("call.ended", n))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_route_through_the_tenant_manager_and_survive_its_outage() {
    let mut tm = fake().await;
    // Providers the rig can run: the wyoming voice refuses at once, so the
    // fallback speaks; both names show the tenant's choice was applied.
    tm.tenant(
        "acme",
        json!({"provider": "fake"}),
        json!({"provider": "wyoming", "fallback": ["fake"]}),
    );
    let rig = Rig::start(
        SimConfig::default(),
        &format!(
            "[speech.wyoming]\ntts = \"tcp://127.0.0.1:1\"\n{}",
            gateway_config(&tm, "[\"tenant_manager\", \"routes\"]")
        ),
    )
    .await;
    let (started, ended) = call(&rig, ACME_DID, 0).await;
    assert_eq!(started["data"]["tenant_id"], "acme", "{started}");
    assert_eq!(started["data"]["agent_id"], "sales", "{started}");
    assert_eq!(ended["reason"], "caller_hangup", "{ended}");
    assert_eq!(
        ended["tts_providers"],
        json!(["wyoming", "fake"]),
        "{ended}"
    );

    // The config routes serve what the tenant-manager does not know.
    let (started, _) = call(&rig, "+16660001111", 1).await;
    assert_eq!(started["data"]["tenant_id"], "local");

    tm.stop().await;
    // Seen before: still routes from the stale cache.
    let (started, ended) = call(&rig, ACME_DID, 2).await;
    assert_eq!(started["data"]["tenant_id"], "acme");
    assert_eq!(ended["reason"], "caller_hangup", "{ended}");
    // Never seen: the unknown-DID path.
    let (_, ended) = call(&rig, GLOBEX_DID, 3).await;
    assert_eq!(ended["reason"], "unknown_did", "{ended}");
    rig.all_released().await;
    rig.stop().await;
}
