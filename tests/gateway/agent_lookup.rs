//! The orchestrator's `GET /api/v1/conversations/{id}/agent`: asked beside
//! the call once the conversation exists, never before the greeting; the
//! agent it names goes into the call record, `GET /v1/calls/{id}` and the
//! events from then on; a 404 keeps the route's agent.

use crate::{
    api::{SECRET, token},
    rig::Rig,
    stub::{Orchestrator, Reply},
};
use serde_json::{Value, json};
use vg_asterisk_sim::SimConfig;

async fn rig(orch: &Orchestrator) -> Rig {
    Rig::start(
        SimConfig::default(),
        &format!(
            "{}[auth]\njwt_secret = \"{SECRET}\"\n\
             [[routes]]\ndid = \"+1555*\"\ntenant = \"acme\"\nagent = \"route-agent\"\n",
            orch.config("5s")
        ),
    )
    .await
}

async fn call_view(rig: &Rig, id: &str) -> Value {
    let r = reqwest::Client::new()
        .get(format!("{}/v1/calls/{id}", rig.base))
        .bearer_auth(token("acme", "calls:read"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_orchestrators_agent_reaches_the_record_the_api_and_the_events() {
    let orch = Orchestrator::start("Hello.", |_, _| Reply::Json(json!({"text": "Sure."}))).await;
    orch.set_agent(Some(
        json!({"agent_id": "sales-bot", "version": "2026-12-01.3"}),
    ));
    orch.hold_agent_lookups(true);
    let rig = rig(&orch).await;
    let call = rig.sim.place_inbound_call("+15551230001", "+4930123456");
    // The greeting is heard while the lookup is still held: not on its path.
    rig.greeting_heard(call).await;
    assert_eq!(orch.agent_lookups(), 1);
    let id = rig.data("call.started", 0)["call_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(rig.data("call.started", 0)["agent_id"], "route-agent");
    let view = call_view(&rig, &id).await;
    assert_eq!(view["agent_id"], "route-agent", "{view}");
    assert!(view.get("agent_version").is_none(), "{view}");

    orch.hold_agent_lookups(false);
    let mut view = call_view(&rig, &id).await;
    for _ in 0..500 {
        if view["agent_id"] == "sales-bot" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        view = call_view(&rig, &id).await;
    }
    assert_eq!(view["agent_id"], "sales-bot", "{view}");
    assert_eq!(view["agent_version"], "2026-12-01.3", "{view}");
    rig.sim.caller_hangup(call);
    rig.all_released().await;
    assert_eq!(rig.data("call.ended", 0)["agent_id"], "sales-bot");
    let ended = call_view(&rig, &id).await;
    assert_eq!(ended["agent_version"], "2026-12-01.3", "{ended}");
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_404_keeps_the_routes_agent() {
    let orch = Orchestrator::start("Hello.", |_, _| Reply::Json(json!({"text": "Sure."}))).await;
    let rig = rig(&orch).await;
    let call = rig.sim.place_inbound_call("+15551230001", "+4930123456");
    rig.greeting_heard(call).await;
    rig.until("the agent lookup", |_| orch.agent_lookups() == 1)
        .await;
    rig.sim.caller_hangup(call);
    rig.all_released().await;
    let id = rig.data("call.started", 0)["call_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(rig.data("call.ended", 0)["agent_id"], "route-agent");
    let view = call_view(&rig, &id).await;
    assert_eq!(view["agent_id"], "route-agent", "{view}");
    assert!(view.get("agent_version").is_none(), "{view}");
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_asks_again_and_a_changed_agent_follows() {
    use vg_asterisk_sim::Outcome;
    use voice_gateway::{
        application::ports::calls::{CallControl, TransferMode},
        domain::{CallId, TenantId, TransferTarget},
    };
    let orch = Orchestrator::start("Hello.", |_, _| Reply::Json(json!({"text": "Sure."}))).await;
    let rig = Rig::start(
        SimConfig::default(),
        &format!(
            "{}[session]\ntransfer_mode = \"attended\"\ntransfer_ring_timeout = \"1s\"\n\
             [session.transfer_endpoints]\nagents = \"PJSIP/agents\"\n\
             [[routes]]\ndid = \"+1555*\"\ntenant = \"acme\"\nagent = \"route-agent\"\n",
            orch.config("5s")
        ),
    )
    .await;
    rig.sim.set_outcome("agents", Outcome::NoAnswer);
    let call = rig.sim.place_inbound_call("+15551230001", "+4930123456");
    rig.greeting_heard(call).await;
    rig.until("the first lookup", |_| orch.agent_lookups() == 1)
        .await;
    // The orchestrator moves the conversation to another agent; the gateway
    // learns it when it tells the orchestrator of the transfer.
    orch.set_agent(Some(json!({"agent_id": "escalations", "version": "v2"})));
    let id = rig.data("call.started", 0)["call_id"]
        .as_str()
        .unwrap()
        .to_owned();
    rig.control
        .transfer(
            &TenantId::parse("acme").unwrap(),
            &CallId::parse(id).unwrap(),
            TransferTarget::parse("agents").unwrap(),
            TransferMode::Attended,
        )
        .await
        .unwrap();
    rig.until("the lookup after the transfer", |_| {
        orch.agent_lookups() == 2
    })
    .await;
    // Nobody answers: back to the (new) agent.
    rig.until_count("call.escalated", 2).await;
    rig.sim.caller_hangup(call);
    rig.all_released().await;
    assert_eq!(rig.data("call.started", 0)["agent_id"], "route-agent");
    assert_eq!(rig.data("call.ended", 0)["agent_id"], "escalations");
    rig.stop().await;
}
