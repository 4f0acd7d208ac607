//! OpenAI speech-to-text on real Asterisk calls, the gateway binary talking
//! to the loopback fake of the Realtime API: a route listening with OpenAI
//! understands the caller and transfers, and OpenAI dropping mid-utterance
//! hands the turn to the next recogniser of the route's chain; with the fake
//! speech endpoint too, a conversation with OpenAI listening and speaking,
//! and both failing mid-call with the fake providers taking over.

use crate::{
    audio::{secs, sentences, utterance},
    calls::{DID, T},
    gateway::{GatewayConfig, ROUTES},
    openai_fake::{FakeOpenAi, Fault},
    rig::{Rig, Setup},
};
use std::time::Duration;
use vg_testkit::Caller;

const TRANSFER_CONTEXT: &str = "[vg-transfer]\nexten => agents,1,Log(NOTICE,VG-TRANSFERRED ${CHANNEL})\n \
     same => n,Answer()\n same => n,Goto(vg-caller,silence,1)\n";

fn setup(fake: &FakeOpenAi, stt: &str) -> Setup {
    Setup {
        extensions: TRANSFER_CONTEXT.into(),
        gateway: GatewayConfig {
            toml: format!(
                "{ROUTES}{stt}\n[speech.openai]\napi_key = \"sk-asterisk\"\nbase_url = \"{}\"\n",
                fake.url
            ),
            env: vec![(
                "VOICEGW__SESSION__TRANSFER_CONTEXT".into(),
                "vg-transfer".into(),
            )],
        },
        ..Setup::default()
    }
}

#[test]
fn a_call_listening_with_openai_is_understood_and_transferred() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let fake = runtime.block_on(FakeOpenAi::start("sk-asterisk"));
    fake.script(&["please transfer me to billing"]);
    let rig = Rig::start_with(setup(&fake, "stt = \"openai\""));
    let said = utterance(
        &rig.ast,
        "openai",
        Duration::from_secs(7),
        Duration::from_millis(1200),
        Duration::from_secs(10),
    );
    let call = rig.ast.call(Caller::play(DID, &said)).unwrap();
    let id = rig.gw.nth_call(0, T);
    let heard = rig.gw.until_type("stt.transcribed", Some(&id), T);
    assert_eq!(
        heard["data"]["text"], "please transfer me to billing",
        "{heard}"
    );
    let transferred = rig.gw.until_type("call.transferred", Some(&id), T);
    assert!(
        vg_testkit::wait_until(T, || rig.ast.log_text().contains("VG-TRANSFERRED")),
        "the caller never reached [vg-transfer]: {transferred}"
    );
    let log = fake.log();
    // A µ-law call is heard at its own 8 kHz: sent as G.711, not resampled
    // to 24 kHz PCM.
    assert_eq!(log.sessions[0]["input_audio_format"], "g711_ulaw");
    // The caller's 1.2 s (at 8 bytes a millisecond), give or take the VAD's edges.
    assert!(
        log.committed_bytes[0] >= 800 * 8,
        "{:?}",
        log.committed_bytes
    );
    call.hangup().unwrap();
    rig.gw.until_type("call.ended", Some(&id), T);
    rig.finish();
}

#[test]
fn openai_dropping_mid_utterance_hands_the_turn_to_the_fake_recogniser() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let fake = runtime.block_on(FakeOpenAi::start("sk-asterisk"));
    fake.set_fault(Some(Fault::DisconnectAfterSpeech(Duration::from_millis(
        300,
    ))));
    let rig = Rig::start_with(setup(&fake, "stt = \"openai\"\nstt_fallback = [\"fake\"]"));
    let said = utterance(
        &rig.ast,
        "openai-drop",
        Duration::from_secs(7),
        Duration::from_millis(1500),
        Duration::from_secs(10),
    );
    let call = rig.ast.call(Caller::play(DID, &said)).unwrap();
    let id = rig.gw.nth_call(0, T);
    let heard = rig.gw.until_type("stt.transcribed", Some(&id), T);
    // The in-process recogniser's name for the utterance: it took the turn.
    assert_eq!(heard["data"]["text"], "utterance 1", "{heard}");
    assert!(fake.log().committed_bytes.is_empty());
    call.hangup().unwrap();
    let ended = rig.gw.until_type("call.ended", Some(&id), T);
    assert_eq!(
        ended["data"]["stt_providers"],
        serde_json::json!(["openai", "fake"]),
        "{ended}"
    );
    rig.finish();
}

/// One call to a route with `speech` (provider keys) at `fake`: the caller
/// speaks 1.2 s, `at` into the call. Returns the transcript and
/// `call.ended`, after checking the caller heard the greeting and an answer
/// and that no turn failed.
fn converse(fake: &FakeOpenAi, speech: &str, at: Duration) -> (String, serde_json::Value) {
    let rig = Rig::start_with(setup(fake, speech));
    let spoken = Duration::from_millis(1200);
    let said = utterance(&rig.ast, "openai-both", at, spoken, Duration::from_secs(10));
    let call = rig.ast.call(Caller::play(DID, &said)).unwrap();
    let id = rig.gw.nth_call(0, T);
    let heard = rig.gw.until_type("stt.transcribed", Some(&id), T);
    rig.gw.until_event("the answer played out", T, |_| {
        let types = rig.gw.types_of(&id);
        types.iter().filter(|t| *t == "tts.generated").count() >= 2
    });
    call.hangup().unwrap();
    let ended = rig.gw.until_type("call.ended", Some(&id), T);
    let spans = sentences(&call.heard(T).unwrap());
    assert!(
        spans.first().is_some_and(|(s, _)| *s < at),
        "no greeting: {:?}",
        secs(&spans)
    );
    assert!(
        spans.iter().any(|(s, _)| *s > at + spoken),
        "no answer after the caller spoke: {:?}",
        secs(&spans)
    );
    let types = rig.gw.types_of(&id);
    let failures = ["error.stt_failed", "error.tts_failed"];
    assert!(
        !types.iter().any(|t| failures.contains(&t.as_str())),
        "{types:?}"
    );
    rig.finish();
    let text = heard["data"]["text"].as_str().unwrap_or_default();
    (text.to_owned(), ended["data"].clone())
}

#[test]
fn a_conversation_with_openai_listening_and_speaking() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let fake = runtime.block_on(FakeOpenAi::start("sk-asterisk"));
    fake.script(&["hello openai"]);
    // The greeting is the fake's 600 ms tone: the caller speaks well before
    // the gateway's no-input prompt.
    let at = Duration::from_secs(3);
    let (text, ended) = converse(&fake, "stt = \"openai\"\ntts = \"openai\"", at);
    assert_eq!(text, "hello openai");
    assert_eq!(ended["stt_providers"], serde_json::json!(["openai"]));
    assert_eq!(ended["tts_providers"], serde_json::json!(["openai"]));
    let inputs: Vec<String> = fake
        .log()
        .speech
        .iter()
        .map(|r| r["input"].to_string())
        .collect();
    assert!(
        inputs.iter().any(|i| i.contains("hello openai")),
        "the answer repeats the transcript: {inputs:?}"
    );
}

#[test]
fn openai_failing_both_ways_mid_call_hands_the_turn_to_the_fake_providers() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let fake = runtime.block_on(FakeOpenAi::start("sk-asterisk"));
    fake.set_faults(&[
        Fault::DisconnectAfterSpeech(Duration::from_millis(300)),
        Fault::SpeechCutsFirst,
    ]);
    let speech = "stt = \"openai\"\nstt_fallback = [\"fake\"]\n\
                  tts = \"openai\"\ntts_fallback = [\"fake\"]";
    // After the fake synthesiser's greeting, longer than OpenAI's tone.
    let (text, ended) = converse(&fake, speech, Duration::from_secs(7));
    assert_eq!(text, "utterance 1");
    assert_eq!(
        ended["stt_providers"],
        serde_json::json!(["openai", "fake"])
    );
    assert_eq!(
        ended["tts_providers"],
        serde_json::json!(["openai", "fake"])
    );
    assert!(
        !fake.log().speech.is_empty(),
        "OpenAI was asked to speak first"
    );
}
