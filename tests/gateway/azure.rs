//! Azure Speech as a route's provider, through the simulator and real RTP on
//! loopback, against the fake Azure service (WebSocket recognition, chunked
//! REST synthesis): a whole conversation with Azure as primary STT and TTS,
//! and Azure failing mid-call with the next provider of the chain taking
//! the turn.

use crate::rig::{Rig, speech};
use serde_json::json;
use vg_asterisk_sim::SimConfig;
use voice_gateway::adapter::speech::azure::fake::{FakeAzure, SttFault, TtsFault};

const KEY: &str = "az-call-key";

async fn rig(fake: &FakeAzure, route: &str) -> Rig {
    let extra = format!(
        "[speech.azure]\napi_key = \"{KEY}\"\nbase_url = \"{}\"\n\
         [[routes]]\ndid = \"+1555*\"\ntenant = \"acme\"\nagent = \"builtin\"\n{route}",
        fake.url
    );
    Rig::start(SimConfig::default(), &extra).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conversation_with_azure_as_primary_stt_and_tts() {
    let fake = FakeAzure::start(KEY, &["hello there"]).await.unwrap();
    let rig = rig(&fake, "stt = \"azure\"\ntts = \"azure\"\n").await;
    let call = rig.sim.place_inbound_call("+15551234567", "+15557654321");
    rig.greeting_heard(call).await;
    assert!(fake.log().tts[0].text.contains("built-in assistant"));

    let heard_before = rig.sim.heard_pcm(call).len();
    assert!(rig.sim.caller_say(call, &speech(1000)));
    rig.until_count("tts.generated", 2).await;
    assert_eq!(rig.data("stt.transcribed", 0)["text"], "hello there");
    rig.until("the reply heard", |r| {
        r.sim.heard_pcm(call).len() > heard_before + 8000
    })
    .await;
    let log = fake.log();
    assert!(log.tts[1].text.contains("hello there"), "{:?}", log.tts);
    assert_eq!(log.violations, Vec::<String>::new());
    // One turn: the caller's second of speech, as PCM after the RIFF header
    // at the wire's 8 kHz (µ-law decoded, not upsampled).
    let turn = log.turns.iter().find(|t| t.ended).expect("an ended turn");
    assert_eq!((turn.sample_rate, turn.mulaw), (8_000, false));
    assert!(turn.audio_bytes >= 16_000, "{:?}", log.turns);

    rig.sim.caller_hangup(call);
    rig.all_released().await;
    let ended = rig.data("call.ended", 0);
    assert_eq!(ended["stt_providers"], json!(["azure"]));
    assert_eq!(ended["tts_providers"], json!(["azure"]));
    assert_eq!(
        rig.count("error.stt_failed") + rig.count("error.tts_failed"),
        0
    );
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_failing_mid_call_hands_over_without_losing_the_turn() {
    let fake = FakeAzure::start(KEY, &["hello there"]).await.unwrap();
    // The greeting's audio is cut half-way; the caller's utterance drops the
    // recognition connection while the caller is still speaking.
    fake.fail_next_tts(TtsFault::DisconnectMidBody);
    fake.fail_next_stt(SttFault::DisconnectOnSpeech);
    let rig = rig(
        &fake,
        "stt = \"azure\"\nstt_fallback = [\"fake\"]\ntts = \"azure\"\ntts_fallback = [\"fake\"]\n",
    )
    .await;
    let call = rig.sim.place_inbound_call("+15551234567", "+15557654321");
    rig.greeting_heard(call).await;

    assert!(rig.sim.caller_say(call, &speech(1000)));
    rig.until_count("tts.generated", 2).await;
    // The fake recogniser heard the rest of the utterance: the turn is kept.
    assert_eq!(rig.data("stt.transcribed", 0)["text"], "utterance 1");
    assert_eq!(
        rig.count("error.stt_failed") + rig.count("error.tts_failed"),
        0
    );

    rig.sim.caller_hangup(call);
    rig.all_released().await;
    let ended = rig.data("call.ended", 0);
    assert_eq!(ended["stt_providers"], json!(["azure", "fake"]));
    assert_eq!(ended["tts_providers"], json!(["azure", "fake"]));
    assert_eq!(fake.log().violations, Vec::<String>::new());
    rig.stop().await;
}
