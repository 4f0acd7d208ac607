//! OpenAI speech-to-text in whole calls through the simulator, against the
//! loopback fake of its Realtime API: as a route's primary recogniser, and
//! failing mid-utterance in a chain whose next provider takes the turn.

use crate::{
    openai_fake::{FakeOpenAi, Fault},
    rig::{Rig, speech},
    stub::{Orchestrator, Reply},
};
use serde_json::json;
use std::time::Duration;
use vg_asterisk_sim::SimConfig;

/// A gateway whose `+1555…` route listens with `stt`, the orchestrator
/// answering every turn with "Okay.".
async fn start(fake: &FakeOpenAi, orch: &Orchestrator, stt: &str) -> Rig {
    let extra = format!(
        "{}[speech.openai]\napi_key = \"sk-sim\"\nbase_url = \"{}\"\n\
         [[routes]]\ndid = \"+1555*\"\ntenant = \"acme\"\nagent = \"builtin\"\n{stt}\n",
        orch.config("10s"),
        fake.url
    );
    Rig::start(SimConfig::default(), &extra).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_listens_with_openai_as_its_primary_recogniser() {
    let fake = FakeOpenAi::start("sk-sim").await;
    fake.script(&["I have a question about my bill"]);
    let orch = Orchestrator::start("Hello.", |_, _| Reply::Json(json!({"text": "Okay."}))).await;
    let rig = start(&fake, &orch, "stt = \"openai\"").await;
    let call = rig.sim.place_inbound_call("+15551234567", "+15557654321");
    rig.greeting_heard(call).await;
    assert!(rig.sim.caller_say(call, &speech(800)));
    rig.until("the turn at the orchestrator", |_| !orch.turns().is_empty())
        .await;
    assert_eq!(orch.turns()[0]["text"], "I have a question about my bill");
    rig.until_count("tts.generated", 2).await;
    let log = fake.log();
    assert_eq!(log.connections, 1);
    // A µ-law call is heard at its 8 kHz: sent as G.711 (8 bytes a
    // millisecond), and the caller's 800 ms committed as one utterance.
    assert_eq!(log.sessions[0]["input_audio_format"], "g711_ulaw");
    assert_eq!(log.sessions[0]["turn_detection"], json!(null));
    assert_eq!(log.committed_bytes.len(), 1);
    assert!(
        log.committed_bytes[0] >= 800 * 8,
        "{:?}",
        log.committed_bytes
    );
    rig.sim.caller_hangup(call);
    rig.all_released().await;
    assert_eq!(
        rig.data("call.ended", 0)["stt_providers"],
        json!(["openai"])
    );
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_dropping_mid_utterance_hands_the_turn_to_the_next_provider() {
    let fake = FakeOpenAi::start("sk-sim").await;
    fake.set_fault(Some(Fault::DisconnectAfterSpeech(Duration::from_millis(
        200,
    ))));
    let orch = Orchestrator::start("Hello.", |_, _| Reply::Json(json!({"text": "Okay."}))).await;
    let rig = start(&fake, &orch, "stt = \"openai\"\nstt_fallback = [\"fake\"]").await;
    let call = rig.sim.place_inbound_call("+15551234567", "+15557654321");
    rig.greeting_heard(call).await;
    assert!(rig.sim.caller_say(call, &speech(1_200)));
    rig.until("the turn at the orchestrator", |_| !orch.turns().is_empty())
        .await;
    // The in-process fake recogniser heard the rest of the utterance and
    // named it: the caller's turn went through.
    let text = orch.turns()[0]["text"].as_str().unwrap().to_owned();
    assert!(text.starts_with("utterance"), "{text}");
    assert_eq!(
        fake.log().committed_bytes.len(),
        0,
        "openai never got the end"
    );
    rig.until_count("tts.generated", 2).await;
    rig.sim.caller_hangup(call);
    rig.all_released().await;
    assert_eq!(
        rig.data("call.ended", 0)["stt_providers"],
        json!(["openai", "fake"])
    );
    rig.stop().await;
}
