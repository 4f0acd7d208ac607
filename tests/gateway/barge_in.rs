//! Barge-in through the gateway, the simulator and real RTP on loopback: the
//! caller talks over the agent, the agent's audio stops within 150 ms of the
//! caller's speech onset, and the agent is told what the caller heard.
//!
//! Both ends of the figure come from the simulator's clock: the onset is when
//! its first frame of the caller's speech left, the stop is the arrival of the
//! gateway's last packet of the interrupted speech. So a slow test thread on a
//! loaded machine does not move them; only the gateway's own work does.

use crate::{
    rig::{Rig, speech},
    stub::{Orchestrator, Reply},
};
use serde_json::json;
use vg_asterisk_sim::SimConfig;

const GREETING: &str = "Hello, and thanks for calling the demo line. I can tell you about our \
                        opening hours, our prices and our deliveries, or put you through to a person.";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn talking_over_the_agent_stops_its_audio_within_150_ms() {
    let orch = Orchestrator::start(GREETING, |_, _| {
        Reply::Json(json!({"text": "Sure, go ahead."}))
    })
    .await;
    let rig = Rig::start(SimConfig::default(), &orch.config("10s")).await;
    let call = rig.sim.place_inbound_call("+15551234567", "+15557654321");
    // Talk over the greeting once a second of it has arrived.
    rig.until("a second of the greeting", |r| {
        r.sim.received(call).len() >= 50
    })
    .await;
    assert!(rig.sim.caller_say(call, &speech(1200)));
    rig.until_count("call.bargein", 1).await;
    rig.until("the interrupted turn at the agent", |_| {
        !orch.turns().is_empty()
    })
    .await;

    let onset = *rig
        .sim
        .talk_onsets(call)
        .last()
        .expect("the caller's speech was sent");
    // The interrupted speech's packets that arrived after the onset; the next
    // reply starts a new talkspurt (marker bit) and is not part of it.
    let tail: Vec<_> = rig
        .sim
        .received(call)
        .into_iter()
        .filter(|p| p.at_ms >= onset)
        .take_while(|p| !p.marker)
        .collect();
    let stop = tail.last().map_or(onset, |p| p.at_ms);
    let delay = stop - onset;
    println!(
        "barge-in: the agent's last packet arrived {delay:.1} ms after the caller's speech onset \
         ({} packets after it)",
        tail.len()
    );
    assert!(
        delay < 150.0,
        "outbound audio ran {delay:.1} ms past the caller's speech onset"
    );

    let b = rig.data("call.bargein", 0);
    assert!(
        b["dropped_ms"].as_u64().unwrap() > 1000,
        "the rest was dropped: {b}"
    );
    let turn = &orch.turns()[0];
    assert_eq!(turn["interrupted"], true, "{turn}");
    let heard = turn["heard_text"].as_str().unwrap();
    assert!(
        !heard.is_empty() && heard.len() < GREETING.len() && GREETING.starts_with(heard),
        "heard {heard:?}"
    );
    assert_eq!(turn["text"], "utterance 1");

    rig.sim.caller_hangup(call);
    rig.all_released().await;
    assert_eq!(rig.data("call.ended", 0)["barge_ins"], 1);
    rig.stop().await;
}
