//! Calls through the simulator with Amazon Transcribe streaming
//! (`stt = "aws"`) and Polly (`tts = "polly"`), against the loopback fakes
//! of `tests/common/aws_fake.rs` (which check every SigV4 signature): a
//! conversation with both as primary, and both failing mid-call with the
//! next provider of the chain taking over without the caller losing the turn.

use serde_json::json;
use std::sync::atomic::Ordering;
use vg_asterisk_sim::SimConfig;

use crate::aws_fake::{HEARD, Polly, Transcribe, aws_section, fake_polly, fake_transcribe};
use crate::rig::{Rig, speech};

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_with_transcribe_and_polly_as_primary_holds_a_conversation() {
    let (polly, texts) = fake_polly(Polly::Speaks).await;
    let (transcribe, _) = fake_transcribe(Transcribe::Hears).await;
    let rig = Rig::start_with_env(
        SimConfig::default(),
        &aws_section(&transcribe, &polly),
        env(&[
            ("VOICEGW__SPEECH__STT", "aws"),
            ("VOICEGW__SPEECH__TTS", "polly"),
        ]),
    )
    .await;
    let call = rig.sim.place_inbound_call("+15551234567", "+15557654321");
    rig.greeting_heard(call).await;
    let heard_before = rig.sim.heard_pcm(call).len();
    assert!(rig.sim.caller_say(call, &speech(1200)));
    rig.until_count("tts.generated", 2).await;
    assert_eq!(rig.data("stt.transcribed", 0)["text"], HEARD);
    rig.until("the reply heard", |r| {
        r.sim.heard_pcm(call).len() > heard_before + 4000
    })
    .await;
    assert!(
        texts.lock().unwrap().len() >= 2,
        "{:?}",
        texts.lock().unwrap()
    );
    rig.sim.caller_hangup(call);
    rig.all_released().await;
    let ended = rig.data("call.ended", 0);
    assert_eq!(ended["stt_providers"], json!(["aws"]));
    assert_eq!(ended["tts_providers"], json!(["polly"]));
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transcribe_and_polly_failing_mid_call_hand_over_the_turn() {
    // The greeting's audio breaks off half-way; the caller's utterance cuts
    // the recognition connection while the caller is still speaking.
    let (polly, texts) = fake_polly(Polly::CutsFirst).await;
    let (transcribe, streams) = fake_transcribe(Transcribe::Drops).await;
    let rig = Rig::start_with_env(
        SimConfig::default(),
        &aws_section(&transcribe, &polly),
        env(&[
            ("VOICEGW__SPEECH__STT", "aws"),
            ("VOICEGW__SPEECH__STT_FALLBACK", "[\"fake\"]"),
            ("VOICEGW__SPEECH__TTS", "polly"),
            ("VOICEGW__SPEECH__TTS_FALLBACK", "[\"fake\"]"),
        ]),
    )
    .await;
    let call = rig.sim.place_inbound_call("+15551234567", "+15557654321");
    rig.greeting_heard(call).await;
    assert!(rig.sim.caller_say(call, &speech(1200)));
    rig.until_count("tts.generated", 2).await;
    // The in-process recogniser, which names the turns it hears, took it.
    assert_eq!(rig.data("stt.transcribed", 0)["text"], "utterance 1");
    assert_eq!(
        rig.count("error.stt_failed") + rig.count("error.tts_failed"),
        0
    );
    assert!(
        streams.load(Ordering::SeqCst) >= 1,
        "Transcribe was tried first"
    );
    assert!(!texts.lock().unwrap().is_empty(), "Polly was tried first");
    rig.sim.caller_hangup(call);
    rig.all_released().await;
    let ended = rig.data("call.ended", 0);
    assert_eq!(ended["stt_providers"], json!(["aws", "fake"]));
    assert_eq!(ended["tts_providers"], json!(["polly", "fake"]));
    rig.stop().await;
}
