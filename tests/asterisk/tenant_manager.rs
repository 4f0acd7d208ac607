//! Routing through the platform's tenant-manager on the real Asterisk: a
//! DID the fake maps to tenant `acme` is that tenant's call with the
//! providers it set; with the tenant-manager stopped a DID seen before still
//! routes (stale cache) and one never seen gets the unknown-DID path.

use crate::{
    calls::{DID, T},
    gateway::GatewayConfig,
    rig::{Rig, Setup},
    tenant_manager_fake::TenantManager,
};
use serde_json::{Value, json};
use vg_testkit::Caller;

/// One call to `did` that is greeted, then hung up; its `call.started` and
/// `call.ended` envelopes.
fn greeted_call(rig: &Rig, did: &str, n: usize) -> (Value, Value) {
    let call = rig.ast.call(Caller::listen(did)).unwrap();
    let id = rig.gw.nth_call(n, T);
    rig.gw.until_type("tts.generated", Some(&id), T);
    call.hangup().unwrap();
    let ended = rig.gw.until_type("call.ended", Some(&id), T);
    let started = rig.gw.until_type("call.started", Some(&id), T);
    (started, ended)
}

#[test]
fn a_tenant_managers_did_routes_to_its_tenant_and_survives_its_outage() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut tm = runtime.block_on(TenantManager::start());
    // The wyoming voice refuses at once, so the fallback speaks: both names
    // on the call's events show the tenant's choice was applied.
    tm.tenant(
        "acme",
        json!({"provider": "fake"}),
        json!({"provider": "wyoming", "fallback": ["fake"]}),
    );
    tm.map_did("acme", DID, "builtin");
    let rig = Rig::start_with(Setup {
        gateway: GatewayConfig {
            toml: format!(
                "[speech.wyoming]\ntts = \"tcp://127.0.0.1:1\"\n\
                 [tenant_manager]\nurl = \"{}\"\ntoken = \"tm-token\"\ntenants = [\"acme\"]\n\
                 cache_ttl = \"1ms\"\nstale_for = \"1h\"\ntimeout = \"500ms\"\n",
                tm.url
            ),
            ..GatewayConfig::default()
        },
        ..Setup::default()
    });
    let (started, ended) = greeted_call(&rig, DID, 0);
    assert_eq!(started["data"]["tenant_id"], "acme", "{started}");
    assert_eq!(ended["data"]["tenant_id"], "acme", "{ended}");
    assert_eq!(ended["data"]["reason"], "caller_hangup", "{ended}");
    assert_eq!(
        ended["data"]["tts_providers"],
        json!(["wyoming", "fake"]),
        "{ended}"
    );
    assert_eq!(ended["data"]["stt_providers"], json!(["fake"]), "{ended}");
    assert!(
        tm.seen()
            .iter()
            .all(|s| s.authorization.as_deref() == Some("Bearer tm-token")),
        "{:?}",
        tm.seen()
    );

    runtime.block_on(tm.stop());
    // Past its 1 ms TTL the route is asked again, the tenant-manager is
    // gone, and the stale route serves.
    let (started, ended) = greeted_call(&rig, DID, 1);
    assert_eq!(started["data"]["tenant_id"], "acme", "{started}");
    assert_eq!(ended["data"]["reason"], "caller_hangup", "{ended}");
    assert!(
        rig.gw
            .log()
            .iter()
            .any(|l| l.contains("the DID keeps its last route")),
        "the outage was noticed and the stale route used"
    );

    let call = rig.ast.call(Caller::listen("+15559999999")).unwrap();
    let id = rig.gw.nth_call(2, T);
    let ended = rig.gw.until_type("call.ended", Some(&id), T);
    assert_eq!(ended["data"]["reason"], "unknown_did", "{ended}");
    call.wait_ended(T).unwrap();
    rig.finish();
}
