//! Failures and edges against the simulator: DTMF, the
//! caller hanging up mid-sentence, the orchestrator timing out or failing
//! (the caller hears the fallback sentence), and a DID with no route.

use crate::{
    rig::{Rig, last_talkspurt, speech, spoken_frames},
    stub::{Orchestrator, Reply},
};
use serde_json::json;
use std::time::Duration;
use vg_asterisk_sim::SimConfig;
use voice_gateway::application::session::SessionConfig;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_press_is_a_turn() {
    let orch = Orchestrator::start("Hello.", |_, t| {
        Reply::Json(json!({"text": format!("You pressed {}.", t["dtmf"].as_str().unwrap_or("?"))}))
    })
    .await;
    let rig = Rig::start(SimConfig::default(), &orch.config("10s")).await;
    let call = rig.sim.place_inbound_call("+15551234567", "+15557654321");
    rig.greeting_heard(call).await;
    assert!(rig.sim.caller_dtmf(call, "5"));
    rig.until_count("tts.generated", 2).await;
    // The key reaches the orchestrator; the event says only that one was pressed.
    let dtmf = rig.data("call.dtmf", 0);
    assert_eq!(
        (dtmf["masked"].as_bool(), dtmf.get("digit")),
        (Some(true), None)
    );
    let turn = &orch.turns()[0];
    assert_eq!(
        (turn["dtmf"].as_str(), turn["text"].as_str()),
        (Some("5"), Some(""))
    );
    assert!(last_talkspurt(&rig, call) + 1 >= spoken_frames("You pressed 5."));
    rig.sim.caller_hangup(call);
    rig.all_released().await;
    assert_eq!(rig.data("call.ended", 0)["turns"], 1);
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_hanging_up_mid_sentence_releases_everything() {
    let greeting = "Hello, and thanks for calling. This greeting is long enough to be cut short \
                    by a caller who has heard enough of it already.";
    let orch = Orchestrator::start(greeting, |_, _| Reply::Json(json!({"text": "Okay."}))).await;
    let rig = Rig::start(SimConfig::default(), &orch.config("10s")).await;
    let call = rig.sim.place_inbound_call("+15551234567", "+15557654321");
    rig.until("half a second of the greeting", |r| {
        r.sim.received(call).len() >= 25
    })
    .await;
    assert!(rig.sim.caller_hangup(call));
    rig.all_released().await;
    let ended = rig.data("call.ended", 0);
    assert_eq!(ended["reason"], "caller_hangup", "{ended}");
    assert_eq!(
        (ended["answered"].as_bool(), ended["turns"].as_u64()),
        (Some(true), Some(0))
    );
    assert_eq!(rig.count("tts.generated"), 0, "the greeting never finished");
    assert!(
        rig.sim.received(call).len() < spoken_frames(greeting) / 2,
        "the gateway stopped sending"
    );
    rig.stop().await;
}

/// The agent fails its first turn as `reply`; the caller hears the fallback
/// sentence, `error.llm_timeout` is published, and the call goes on.
async fn agent_failure(reply: Reply, error_contains: &str) {
    let orch = Orchestrator::start("Hello.", move |_, _| reply.clone()).await;
    let rig = Rig::start(SimConfig::default(), &orch.config("1s")).await;
    let call = rig.sim.place_inbound_call("+15551234567", "+15557654321");
    rig.greeting_heard(call).await;
    assert!(rig.sim.caller_say(call, &speech(800)));
    rig.until_count("tts.generated", 2).await;
    let e = rig.data("error.llm_timeout", 0);
    assert!(e["error"].as_str().unwrap().contains(error_contains), "{e}");
    let fallback = SessionConfig::default().fallback_text;
    let heard = last_talkspurt(&rig, call);
    assert!(
        heard + 1 >= spoken_frames(&fallback),
        "{heard} packets of the {} the fallback takes",
        spoken_frames(&fallback)
    );
    assert_eq!(rig.admission.live_calls(), 1, "the call goes on");
    rig.sim.caller_hangup(call);
    rig.all_released().await;
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_orchestrator_timeout_is_covered_by_the_fallback_sentence() {
    agent_failure(
        Reply::After(Duration::from_secs(5), json!({"text": "Too late."})),
        "",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_orchestrator_error_is_covered_by_the_fallback_sentence() {
    agent_failure(Reply::Status(500), "500").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_did_hears_the_message_then_is_hung_up() {
    let rig = Rig::start(
        SimConfig::default(),
        "[[routes]]\ndid = \"+1555*\"\ntenant = \"acme\"\nagent = \"builtin\"\n",
    )
    .await;
    let call = rig.sim.place_inbound_call("+4930123456", "+15557654321");
    rig.until_count("call.ended", 1).await;
    assert_eq!(rig.types(), ["call.started", "call.answered", "call.ended"]);
    let ended = rig.data("call.ended", 0);
    assert_eq!(ended["reason"], "unknown_did");
    assert_eq!(rig.data("call.started", 0)["did"], "+4930123456");
    // The simulator plays an unknown sound for 1 s: the hangup waited for it.
    assert!(ended["duration_ms"].as_u64().unwrap() >= 900, "{ended}");
    assert!(rig.sim.call_ended(call));
    rig.all_released().await;
    rig.stop().await;
}
