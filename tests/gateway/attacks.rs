//! Toll fraud through the gateway and the simulator, one test per attack:
//! a caller who talks the agent into a premium or unlisted number, an API
//! client dialling where its policy does not reach or spoofing a caller id.

use crate::{
    rig::{Rig, last_talkspurt, speech, spoken_frames},
    stub::{Orchestrator, Reply},
};
use serde_json::json;
use std::time::Duration;
use vg_asterisk_sim::{Outcome, SimConfig};
use voice_gateway::{
    application::ports::calls::{CallControl, ControlError, OriginateCall},
    domain::{AgentId, E164, TenantId},
};

const REFUSED: &str = "That number is not one I may call for you.";

/// An agent that, on the first turn, transfers to `target`.
async fn agent_transferring_to(target: &'static str) -> Orchestrator {
    Orchestrator::start("Hello.", move |n, _| {
        if n == 0 {
            Reply::Json(json!({"text": "Connecting you now.",
                "actions": [{"type": "transfer", "target": target}]}))
        } else {
            Reply::Json(json!({"text": "Anything else?"}))
        }
    })
    .await
}

fn config(orch: &Orchestrator, mode: &str, transfer_allow: &str) -> String {
    format!(
        "{}[session]\ntransfer_mode = \"{mode}\"\ntransfer_ring_timeout = \"5s\"\n\
         [dialing]\ntransfer_allow = [{transfer_allow}]\nrefused_transfer_text = \"{REFUSED}\"\n",
        orch.config("10s")
    )
}

/// Places a call, lets the agent ask for its transfer on the first turn and
/// checks it was refused without dialling; the call then goes on.
async fn refused_transfer(target: &'static str, mode: &str, transfer_allow: &str) {
    let orch = agent_transferring_to(target).await;
    let rig = Rig::start(SimConfig::default(), &config(&orch, mode, transfer_allow)).await;
    rig.sim.set_outcome(
        target,
        Outcome::Answer {
            after: Duration::from_millis(100),
        },
    );
    let call = rig.sim.place_inbound_call("+15551234567", "+15557654321");
    rig.greeting_heard(call).await;
    assert!(rig.sim.caller_say(call, &speech(800)));
    rig.until_count("call.escalated", 1).await;
    let e = rig.data("call.escalated", 0);
    assert_eq!(e["status"], "failed", "{e}");
    assert_eq!(e["outcome"], "not_allowed", "{e}");
    assert!(
        e["error"]
            .as_str()
            .is_some_and(|m| m.contains("dialing.transfer_allow")),
        "the error names the rule: {e}"
    );
    // The refusal is said, and the conversation goes on.
    rig.until("the refusal said", |r| {
        last_talkspurt(r, call) + 2 >= spoken_frames(REFUSED)
    })
    .await;
    assert!(rig.sim.caller_say(call, &speech(800)));
    rig.until("a second turn", |_| orch.turns().len() >= 2)
        .await;
    assert!(
        rig.sim.originates().is_empty(),
        "nothing was dialled: {:?}",
        rig.sim.originates()
    );
    assert!(orch.transfers().is_empty(), "no transfer was reported");
    assert_eq!(rig.count("call.transferred"), 0);
    assert_eq!(rig.count("call.ended"), 0, "the call goes on");
    rig.sim.caller_hangup(call);
    rig.all_released().await;
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_talked_into_a_premium_number_dials_nothing() {
    // Even with all of +1 open to the agent, +1900 stays shut.
    refused_transfer("+19005550100", "attended", "\"+1\"").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_talked_into_an_international_number_dials_nothing() {
    refused_transfer("+882123456789", "attended", "\"*\"").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blind_transfer_to_an_unlisted_number_is_refused_by_default() {
    refused_transfer("+15550002222", "blind", "").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_transfer_to_a_listed_number_is_dialled() {
    let orch = agent_transferring_to("+15550002222").await;
    let rig = Rig::start(
        SimConfig::default(),
        &config(&orch, "attended", "\"+1555000\""),
    )
    .await;
    rig.sim.set_outcome(
        "+15550002222",
        Outcome::Answer {
            after: Duration::from_millis(100),
        },
    );
    let call = rig.sim.place_inbound_call("+15551234567", "+15557654321");
    rig.greeting_heard(call).await;
    assert!(rig.sim.caller_say(call, &speech(800)));
    rig.until_count("call.transferred", 1).await;
    let o = rig.sim.originates().pop().expect("the person was dialled");
    assert_eq!(o.endpoint, "PJSIP/+15550002222@trunk");
    rig.sim.caller_hangup(call);
    rig.all_released().await;
    rig.stop().await;
}

fn originate(to: &str, from: Option<&str>) -> OriginateCall {
    OriginateCall {
        tenant: TenantId::parse("acme").unwrap(),
        to: E164::parse(to).unwrap(),
        from: from.map(|f| E164::parse(f).unwrap()),
        agent: Some(AgentId::parse("builtin").unwrap()),
        ring_timeout: Duration::from_secs(5),
        metadata: Default::default(),
        detect_machine: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_calls_outside_the_policy_or_with_a_foreign_caller_id_are_refused() {
    let rig = Rig::start(
        SimConfig::default(),
        "[dialing]\napi_allow = [\"+1555\"]\n\
         [[routes]]\ndid = \"+15557770000\"\ntenant = \"acme\"\nagent = \"builtin\"\n\
         [[routes]]\ndid = \"+15558880000\"\ntenant = \"globex\"\nagent = \"builtin\"\n\
         [[routes]]\ndid = \"*\"\ntenant = \"acme\"\nagent = \"builtin\"\n",
    )
    .await;
    let refused = [
        (originate("+19005550100", None), "premium-rate"),
        (originate("+442071234567", None), "matches no allowed"),
        (originate("+16175550100", None), "matches no allowed"),
        // globex's number, and a number only the catch-all route reaches.
        (
            originate("+15550000001", Some("+15558880000")),
            "not one of tenant acme's numbers",
        ),
        (
            originate("+15550000001", Some("+15559990000")),
            "not one of tenant acme's numbers",
        ),
    ];
    for (request, why) in refused {
        let to = request.to.clone();
        match rig.control.originate(request).await {
            Err(ControlError::NotAllowed(m)) => assert!(m.contains(why), "{to}: {m}"),
            other => panic!("{to}: expected a refusal naming {why:?}, got {other:?}"),
        }
    }
    assert!(rig.sim.originates().is_empty(), "nothing was dialled");
    assert_eq!(rig.count("call.started"), 0);
    // Its own DID as caller id, to an allowed number: placed.
    let placed = rig
        .control
        .originate(originate("+15550000001", Some("+15557770000")))
        .await
        .expect("an allowed call is placed");
    assert_eq!(placed.state, "originating");
    rig.until("the call dialled", |r| r.sim.originates().len() == 1)
        .await;
    rig.control
        .hangup(&TenantId::parse("acme").unwrap(), &placed.call_id)
        .await
        .unwrap();
    rig.all_released().await;
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_after_a_secure_input_request_reach_only_the_orchestrator() {
    // The agent asks for the card on the first turn; it answers every key.
    let orch = Orchestrator::start("Hello.", |n, _| {
        if n == 0 {
            Reply::Json(json!({"text": "Please type your card number, then hash.",
                "actions": [{"type": "secure_input"}]}))
        } else {
            Reply::Json(json!({"text": "Okay."}))
        }
    })
    .await;
    // Even an operator who lets keys into events gets none of secure input.
    let extra = format!("{}[session]\ndtmf_in_events = true\n", orch.config("10s"));
    let rig = Rig::start(SimConfig::default(), &extra).await;
    let call = rig.sim.place_inbound_call("+15551234567", "+15557654321");
    rig.greeting_heard(call).await;
    assert!(rig.sim.caller_say(call, &speech(800)));
    rig.until("the card asked for", |_| !orch.turns().is_empty())
        .await;
    rig.until_count("tts.generated", 2).await;
    assert!(rig.sim.caller_dtmf(call, "5105105105105100#"));
    rig.until_count("call.dtmf", 17).await;
    // Secure input ended with '#': the next key is shown again.
    assert!(rig.sim.caller_dtmf(call, "7"));
    rig.until_count("call.dtmf", 18).await;
    let keys: Vec<Option<String>> = rig
        .events()
        .iter()
        .filter(|e| e["type"] == "call.dtmf")
        .map(|e| e["data"]["digit"].as_str().map(str::to_owned))
        .collect();
    assert!(keys[..17].iter().all(Option::is_none), "{keys:?}");
    assert_eq!(keys[17].as_deref(), Some("7"));
    // The orchestrator got every key.
    rig.until("every key told to the agent", |_| {
        orch.turns()
            .iter()
            .filter_map(|t| t["dtmf"].as_str().map(str::to_owned))
            .collect::<String>()
            == "5105105105105100#7"
    })
    .await;
    rig.sim.caller_hangup(call);
    rig.all_released().await;
    rig.stop().await;
}
