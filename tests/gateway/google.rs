//! Calls through the simulator with Google as the speech provider, against
//! loopback fakes of Speech-to-Text v2 (gRPC `StreamingRecognize`) and
//! Text-to-Speech (`text:synthesize`): a conversation with Google as
//! primary, and a fallback to the next provider when Google's recognition
//! stream drops and its synthesis breaks off mid-call.

use crate::google_fake::{KEY, Stt, Tts, fake_stt, fake_tts, fake_tts_with};
use crate::rig::{Rig, speech};
use serde_json::json;
use std::sync::atomic::Ordering;
use vg_asterisk_sim::SimConfig;

fn google_section(stt: &str, tts: &str) -> String {
    format!(
        "[speech.google]\napi_key = \"{KEY}\"\nproject = \"p\"\n\
         stt_endpoint = \"{stt}\"\ntts_endpoint = \"{tts}\"\n"
    )
}

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_converses_with_google_speech() {
    let (stt, stt_calls) = fake_stt(Stt::Hears).await;
    let (tts, tts_requests) = fake_tts().await;
    let rig = Rig::start_with_env(
        SimConfig::default(),
        &google_section(&stt, &tts),
        env(&[
            ("VOICEGW__SPEECH__STT", "google"),
            ("VOICEGW__SPEECH__TTS", "google"),
        ]),
    )
    .await;
    let call = rig.sim.place_inbound_call("+15551234567", "+15557654321");
    rig.greeting_heard(call).await;
    assert!(
        tts_requests.load(Ordering::SeqCst) >= 1,
        "the greeting came from Google"
    );
    assert!(rig.sim.caller_say(call, &speech(1200)));
    rig.until("the transcript from Google", |r| {
        r.events()
            .iter()
            .any(|e| e["type"] == "stt.transcribed" && e["data"]["text"] == "hello google")
    })
    .await;
    rig.until_count("tts.generated", 2).await;
    assert!(stt_calls.load(Ordering::SeqCst) >= 1);
    rig.sim.caller_hangup(call);
    rig.all_released().await;
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_google_fails_mid_call_the_next_providers_take_the_turn() {
    let (stt, stt_calls) = fake_stt(Stt::Drops).await;
    let (tts, tts_requests) = fake_tts_with(Tts::CutsFirst).await;
    let rig = Rig::start_with_env(
        SimConfig::default(),
        &google_section(&stt, &tts),
        env(&[
            ("VOICEGW__SPEECH__STT", "google"),
            ("VOICEGW__SPEECH__STT_FALLBACK", "[\"fake\"]"),
            ("VOICEGW__SPEECH__TTS", "google"),
            ("VOICEGW__SPEECH__TTS_FALLBACK", "[\"fake\"]"),
        ]),
    )
    .await;
    let call = rig.sim.place_inbound_call("+15551234567", "+15557654321");
    // Google's answer to the greeting broke off: the fake synthesiser spoke it.
    rig.greeting_heard(call).await;
    assert!(rig.sim.caller_say(call, &speech(1200)));
    // Google's fake never transcribes in this mode: the in-process fake
    // recogniser, which names the turns it hears, took this one.
    rig.until("the backup's transcript", |r| {
        r.events()
            .iter()
            .any(|e| e["type"] == "stt.transcribed" && e["data"]["text"] == "utterance 1")
    })
    .await;
    assert!(
        stt_calls.load(Ordering::SeqCst) >= 1,
        "Google was tried first"
    );
    assert!(tts_requests.load(Ordering::SeqCst) >= 1);
    rig.until_count("tts.generated", 2).await;
    assert_eq!(
        rig.count("error.stt_failed") + rig.count("error.tts_failed"),
        0
    );
    rig.sim.caller_hangup(call);
    rig.all_released().await;
    let ended = rig.data("call.ended", 0);
    assert_eq!(ended["stt_providers"], json!(["google", "fake"]));
    assert_eq!(ended["tts_providers"], json!(["google", "fake"]));
    rig.stop().await;
}
