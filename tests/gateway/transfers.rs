//! Transfers through the gateway and the simulator: blind into the dialplan,
//! attended with the person answering (connected once the agent's sentence is
//! over; the AI leaves), the person not answering (back to the agent, which
//! says so), and the caller hanging up while the person's phone rings.

use crate::{
    rig::{Rig, last_talkspurt, speech, spoken_frames},
    stub::{Orchestrator, Reply},
};
use serde_json::json;
use std::time::Duration;
use vg_asterisk_sim::{Outcome, SimCallId, SimConfig};
use voice_gateway::{
    application::{
        ports::calls::{CallControl, ControlError, TransferMode},
        session::SessionConfig,
    },
    domain::{CallId, TenantId, TransferTarget},
};

const SENTENCE: &str = "Let me put you through to a colleague. One moment, please.";

/// An agent that hands over to `agents` on the first turn.
async fn transferring_agent() -> Orchestrator {
    Orchestrator::start("Hello.", |_, _| {
        Reply::Json(
            json!({"text": SENTENCE, "actions": [{"type": "transfer", "target": "agents"}]}),
        )
    })
    .await
}

fn attended(orch: &Orchestrator, ring: &str) -> String {
    format!(
        "{}[session]\ntransfer_mode = \"attended\"\ntransfer_ring_timeout = \"{ring}\"\n\
         [session.transfer_endpoints]\nagents = \"PJSIP/agents\"\n",
        orch.config("10s")
    )
}

/// A call whose agent will hand it over to `agents`, who answer in 300 ms;
/// the greeting has been heard. The orchestrator must outlive the call.
async fn call_for_a_person() -> (Orchestrator, Rig, SimCallId) {
    let orch = transferring_agent().await;
    let rig = Rig::start(SimConfig::default(), &attended(&orch, "5s")).await;
    rig.sim.set_outcome(
        "agents",
        Outcome::Answer {
            after: Duration::from_millis(300),
        },
    );
    let call = rig.sim.place_inbound_call("+15551234567", "+15557654321");
    rig.greeting_heard(call).await;
    (orch, rig, call)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blind_transfer_hands_the_caller_to_the_dialplan() {
    let orch = transferring_agent().await;
    let rig = Rig::start(SimConfig::default(), &orch.config("10s")).await;
    let call = rig.sim.place_inbound_call("+15551234567", "+15557654321");
    rig.greeting_heard(call).await;
    assert!(rig.sim.caller_say(call, &speech(800)));
    rig.until_count("call.ended", 1).await;
    let types = rig.types();
    assert!(
        types.ends_with(&[
            "tts.generated".into(),
            "call.escalated".into(),
            "call.transferred".into(),
            "call.ended".into()
        ]),
        "the sentence first, then the transfer: {types:?}"
    );
    let e = rig.data("call.escalated", 0);
    assert_eq!(
        (e["target"].as_str(), e["mode"].as_str()),
        (Some("agents"), Some("blind"))
    );
    assert_eq!(rig.data("call.ended", 0)["reason"], "transferred");
    // The caller left Stasis for the dialplan (which hangs it up in the
    // simulator); the gateway's bridge and media channel are gone.
    rig.all_released().await;
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attended_transfer_connects_the_person_and_the_ai_leaves() {
    let (_orch, rig, call) = call_for_a_person().await;
    let call_id = rig.events()[0]["subject"].as_str().unwrap().to_owned();
    // The API refuses an attended target that reaches nobody.
    let tenant = TenantId::parse("default").unwrap();
    let id = CallId::parse(call_id.clone()).unwrap();
    let refused = rig
        .control
        .transfer(
            &tenant,
            &id,
            TransferTarget::parse("100").unwrap(),
            TransferMode::Attended,
        )
        .await;
    assert!(
        matches!(&refused, Err(ControlError::Invalid(m)) if m.contains("\"100\"")),
        "{refused:?}"
    );

    assert!(rig.sim.caller_say(call, &speech(800)));
    rig.until_count("call.transferred", 1).await;
    let o = rig.sim.originates().pop().expect("the person was dialled");
    assert_eq!(
        o.endpoint, "PJSIP/agents",
        "the configured endpoint, nothing else"
    );
    assert_eq!(o.args, ["transfer", call_id.as_str()]);
    // The agent's sentence was heard to its end before the handover.
    let reply = last_talkspurt(&rig, call);
    assert!(
        reply + 1 >= spoken_frames(SENTENCE),
        "{reply} packets of the {} the sentence takes",
        spoken_frames(SENTENCE)
    );
    let e = rig.data("call.escalated", 0);
    assert_eq!(
        (e["mode"].as_str(), e["status"].as_str()),
        (Some("attended"), Some("started"))
    );
    assert_eq!(rig.data("call.transferred", 0)["mode"], "attended");
    assert_eq!(rig.data("call.ended", 0)["reason"], "transferred");
    // Caller and person share the call's bridge; the AI's channel is gone.
    let person = format!("vg-h-{call_id}");
    let caller = rig.sim.channel_of(call).unwrap();
    rig.until("the AI's media channel gone", |r| {
        let mut want = vec![caller.clone(), person.clone()];
        want.sort();
        r.sim.channel_ids() == want && r.sim.media_stream_count() == 0
    })
    .await;
    assert_eq!(rig.sim.bridge_ids().len(), 1);
    // The gateway carries no media for it any more: its slot is free.
    rig.until("the call's admission slot given back", |r| {
        r.admission.live_calls() == 0
    })
    .await;

    // The person hangs up: the caller is hung up, the bridge destroyed.
    assert!(rig.sim.caller_hangup(o.call));
    rig.all_released().await;
    assert_eq!(rig.count("call.ended"), 1, "one call.ended");
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_answering_brings_the_caller_back_to_the_agent() {
    let orch = transferring_agent().await;
    let rig = Rig::start(SimConfig::default(), &attended(&orch, "1s")).await;
    rig.sim.set_outcome("agents", Outcome::NoAnswer);
    let call = rig.sim.place_inbound_call("+15551234567", "+15557654321");
    rig.greeting_heard(call).await;
    assert!(rig.sim.caller_say(call, &speech(800)));
    rig.until_count("call.escalated", 2).await;
    let failed = rig.data("call.escalated", 1);
    assert_eq!(
        (failed["status"].as_str(), failed["outcome"].as_str()),
        (Some("failed"), Some("no_answer")),
        "{failed}"
    );
    // The agent says nobody is available, and the call goes on.
    rig.until_count("tts.generated", 3).await;
    let unavailable = SessionConfig::default().transfer_unavailable_text;
    let said = last_talkspurt(&rig, call);
    assert!(
        said + 1 >= spoken_frames(&unavailable),
        "{said} packets of the {} the message takes",
        spoken_frames(&unavailable)
    );
    assert!(
        !rig.sim.channel_ids().iter().any(|c| c.starts_with("vg-h-")),
        "the person's leg is gone: {:?}",
        rig.sim.channel_ids()
    );
    assert_eq!(rig.count("call.transferred"), 0);
    rig.sim.caller_hangup(call);
    rig.all_released().await;
    assert_eq!(rig.data("call.ended", 0)["reason"], "caller_hangup");
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_hanging_up_while_the_person_rings_takes_the_leg_down() {
    let orch = Orchestrator::start("Hello.", |_, _| Reply::Json(json!({"text": "Okay."}))).await;
    let rig = Rig::start(SimConfig::default(), &attended(&orch, "30s")).await;
    rig.sim.set_outcome("+15550002222", Outcome::NoAnswer);
    let call = rig.sim.place_inbound_call("+15551234567", "+15557654321");
    rig.greeting_heard(call).await;
    // An attended transfer asked through the API, to a number.
    let call_id = rig.events()[0]["subject"].as_str().unwrap().to_owned();
    rig.control
        .transfer(
            &TenantId::parse("default").unwrap(),
            &CallId::parse(call_id.clone()).unwrap(),
            TransferTarget::parse("+15550002222").unwrap(),
            TransferMode::Attended,
        )
        .await
        .unwrap();
    let person = format!("vg-h-{call_id}");
    rig.until("the person's phone to ring", |r| {
        r.sim.channel_ids().contains(&person)
    })
    .await;
    let o = rig.sim.originates().pop().unwrap();
    assert_eq!(
        o.endpoint, "PJSIP/+15550002222@trunk",
        "through [outbound] endpoint"
    );
    rig.until("the orchestrator told", |_| !orch.transfers().is_empty())
        .await;
    let again = rig
        .control
        .transfer(
            &TenantId::parse("default").unwrap(),
            &CallId::parse(call_id.clone()).unwrap(),
            TransferTarget::parse("+15550003333").unwrap(),
            TransferMode::Attended,
        )
        .await;
    assert!(matches!(again, Err(ControlError::Conflict(_))), "{again:?}");
    assert_eq!(orch.transfers()[0]["target"], "+15550002222");

    rig.sim.caller_hangup(call);
    rig.all_released().await;
    assert_eq!(rig.data("call.ended", 0)["reason"], "caller_hangup");
    assert_eq!(
        rig.count("call.escalated"),
        1,
        "no failure reported after the end"
    );
    rig.stop().await;
}

/// A gateway shutting down (a deploy) must not cut a caller off the person
/// they were handed to: the drain does not wait for that call, and the
/// gateway leaves the caller, the person and their bridge on Asterisk. The
/// next gateway process watches them and cleans up when one party leaves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shutdown_leaves_a_caller_talking_to_the_person() {
    let (_orch, rig, call) = call_for_a_person().await;
    assert!(rig.sim.caller_say(call, &speech(800)));
    rig.until_count("call.transferred", 1).await;
    rig.until("only caller and person left", |r| {
        r.sim.channel_ids().len() == 2 && r.sim.media_stream_count() == 0
    })
    .await;
    let (channels, bridges) = (rig.sim.channel_ids(), rig.sim.bridge_ids());
    let person = rig.sim.originates().pop().expect("the person was dialled");
    // Drains (nothing to wait for) and exits; a hang here fails the test.
    let sim = rig.stop_gateway().await;
    assert_eq!(sim.channel_ids(), channels, "caller and person still up");
    assert_eq!(sim.bridge_ids(), bridges, "their bridge kept");

    // A bridge an earlier run left empty (a crash between its steps).
    let (user, pass) = sim.credentials();
    let created = reqwest::Client::new()
        .post(format!(
            "{}/ari/bridges?type=mixing&bridgeId=vg-b-leftover",
            sim.base_url()
        ))
        .basic_auth(user, Some(pass))
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success(), "{}", created.status());

    // The next gateway process finds both: the empty bridge goes at once,
    // and the handed-over call is watched until a party leaves.
    let rig = Rig::start_on(sim, "", Vec::new()).await;
    rig.until("the empty leftover bridge destroyed", |r| {
        r.sim.bridge_ids() == bridges
    })
    .await;
    assert_eq!(rig.sim.channel_ids(), channels, "still talking");
    assert!(rig.sim.caller_hangup(person.call), "the person hangs up");
    rig.until("the caller hung up and the bridge destroyed", |r| {
        r.sim.channel_ids().is_empty() && r.sim.bridge_ids().is_empty()
    })
    .await;
    assert!(rig.sim.call_ended(call));
    assert_eq!(rig.count("call.started"), 0, "no new call for it");
    rig.stop().await;
}
