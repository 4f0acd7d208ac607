//! Outbound calls through call control against the simulator: busy, no answer,
//! refused, and answered (the same session runs; the callee hears the agent).

use crate::rig::Rig;
use std::time::Duration;
use vg_asterisk_sim::{Outcome, SimConfig};
use voice_gateway::{
    application::ports::calls::{CallControl, OriginateCall},
    domain::{AgentId, CallId, E164, TenantId},
};

async fn until(what: &str, mut cond: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !cond().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Tenant acme may present the numbers it calls from.
const CALLER_IDS: &str = "[dialing.tenants.acme]\ncaller_ids = [\"+1555000\"]\n";

fn request(to: &str, ring: u64) -> OriginateCall {
    OriginateCall {
        tenant: TenantId::parse("acme").unwrap(),
        to: E164::parse(to).unwrap(),
        from: Some(E164::parse("+15550001111").unwrap()),
        agent: Some(AgentId::parse("builtin").unwrap()),
        ring_timeout: Duration::from_secs(ring),
        metadata: [("crm_id".to_string(), "42".to_string())].into(),
        detect_machine: None,
    }
}

async fn state_of(control: &dyn CallControl, id: &CallId) -> (String, Option<String>) {
    let r = control
        .get(&TenantId::parse("acme").unwrap(), id)
        .await
        .unwrap();
    (r.state, r.end_reason)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_no_answer_and_answered_calls() {
    let rig = Rig::start(SimConfig::default(), CALLER_IDS).await;
    let sim = &rig.sim;
    sim.set_outcome("+15550000001", Outcome::Busy);
    sim.set_outcome("+15550000002", Outcome::NoAnswer);
    sim.set_outcome(
        "+15550000003",
        Outcome::Answer {
            after: Duration::from_millis(300),
        },
    );
    let (control, admission) = (&rig.control, &rig.admission);

    let busy = control
        .originate(request("+15550000001", 30))
        .await
        .unwrap();
    assert_eq!(busy.state, "originating");
    assert_eq!(busy.metadata["crm_id"], "42");
    let id = busy.call_id.clone();
    until("busy", async || {
        state_of(control, &id).await.1.as_deref() == Some("busy")
    })
    .await;
    let sent = sim.originates();
    assert_eq!(
        sent[0].endpoint, "PJSIP/+15550000001@trunk",
        "the number goes into the template only"
    );
    assert_eq!(sent[0].args, ["outbound", busy.call_id.as_str()]);

    let no_answer = control.originate(request("+15550000002", 1)).await.unwrap();
    let id = no_answer.call_id.clone();
    until("no answer", async || {
        state_of(control, &id).await.1.as_deref() == Some("no_answer")
    })
    .await;

    let answered = control
        .originate(request("+15550000003", 30))
        .await
        .unwrap();
    let id = answered.call_id.clone();
    until("answered and talking", async || {
        state_of(control, &id).await.0 == "active"
    })
    .await;
    let callee = sim.originates().last().unwrap().call;
    until("the callee to hear the agent", async || {
        sim.heard_pcm(callee).iter().any(|s| s.abs() > 1000)
    })
    .await;

    // Another tenant cannot see or hang up this call.
    let other = TenantId::parse("other").unwrap();
    assert!(control.get(&other, &id).await.is_err());
    assert!(control.hangup(&other, &id).await.is_err());

    control
        .hangup(&TenantId::parse("acme").unwrap(), &id)
        .await
        .unwrap();
    until("hung up", async || {
        state_of(control, &id).await.1.as_deref() == Some("agent_hangup")
    })
    .await;
    until("no live call", async || admission.live_calls() == 0).await;

    let text = std::fs::read_to_string(&rig.events_file).unwrap();
    let evs: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let of = |id: &CallId| -> Vec<String> {
        evs.iter()
            .filter(|e| e["subject"] == id.as_str())
            .map(|e| e["type"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(of(&busy.call_id), ["call.started", "call.ended"]);
    assert_eq!(
        of(&no_answer.call_id)[..2],
        ["call.started", "call.ringing"]
    );
    let a = of(&answered.call_id);
    assert_eq!(
        a[..3],
        ["call.started", "call.ringing", "call.answered"],
        "{a:?}"
    );
    assert_eq!(a.last().unwrap(), "call.ended");

    rig.stop().await;
}
