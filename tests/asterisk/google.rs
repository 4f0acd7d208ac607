//! Google as the speech provider on the real Asterisk, against loopback
//! fakes of Speech-to-Text v2 (gRPC) and Text-to-Speech (REST): a turn
//! answered with Google as primary, and the next providers taking over when
//! Google's recognition stream drops and its synthesis breaks off mid-call.

use crate::{
    audio::utterance,
    calls::{DID, T},
    gateway::{GatewayConfig, ROUTES},
    google_fake::{KEY, Stt, Tts, fake_stt, fake_tts_with},
    rig::{Rig, Setup},
};
use serde_json::json;
use std::time::Duration;
use vg_testkit::Caller;

/// A gateway whose STT (and TTS) is Google at the fakes, plus `env`.
fn setup(rt: &tokio::runtime::Runtime, stt: Stt, tts: Tts, env: &[(&str, &str)]) -> Setup {
    let (stt, _) = rt.block_on(fake_stt(stt));
    let (tts, _) = rt.block_on(fake_tts_with(tts));
    let toml = format!(
        "{ROUTES}[speech.google]\napi_key = \"{KEY}\"\nproject = \"p\"\n\
         stt_endpoint = \"{stt}\"\ntts_endpoint = \"{tts}\"\n"
    );
    Setup {
        gateway: GatewayConfig {
            toml,
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        },
        ..Setup::default()
    }
}

/// The caller speaks once, `at` into the call; returns the call's first
/// transcript and `call.ended`.
fn one_turn(rig: &Rig, at: Duration) -> (String, serde_json::Value) {
    let said = utterance(
        &rig.ast,
        "google-turn",
        at,
        Duration::from_millis(1200),
        Duration::from_secs(8),
    );
    let call = rig.ast.call(Caller::play(DID, &said)).unwrap();
    let id = rig.gw.nth_call(0, T);
    let heard = rig.gw.until_type("stt.transcribed", Some(&id), T);
    rig.gw.until_count("tts.generated", &id, 2, T);
    call.hangup().unwrap();
    let ended = rig.gw.until_type("call.ended", Some(&id), T);
    let failures = ["error.stt_failed", "error.tts_failed"];
    let types = rig.gw.types_of(&id);
    assert!(
        !types.iter().any(|t| failures.contains(&t.as_str())),
        "{types:?}"
    );
    let text = heard["data"]["text"].as_str().unwrap_or_default();
    (text.to_owned(), ended["data"].clone())
}

#[test]
fn a_turn_is_answered_with_google_speech() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let env = [
        ("VOICEGW__SPEECH__STT", "google"),
        ("VOICEGW__SPEECH__TTS", "google"),
    ];
    let rig = Rig::start_with(setup(&rt, Stt::Hears, Tts::Speaks, &env));
    let (text, ended) = one_turn(&rig, Duration::from_secs(4));
    assert_eq!(text, "hello google");
    assert_eq!(ended["stt_providers"], json!(["google"]));
    assert_eq!(ended["tts_providers"], json!(["google"]));
    rig.finish();
}

#[test]
fn when_google_fails_mid_call_the_fake_providers_take_the_turn() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let env = [
        ("VOICEGW__SPEECH__STT", "google"),
        ("VOICEGW__SPEECH__STT_FALLBACK", "[\"fake\"]"),
        ("VOICEGW__SPEECH__TTS", "google"),
        ("VOICEGW__SPEECH__TTS_FALLBACK", "[\"fake\"]"),
    ];
    let rig = Rig::start_with(setup(&rt, Stt::Drops, Tts::CutsFirst, &env));
    // After the fake synthesiser's greeting, longer than Google's tone.
    let (text, ended) = one_turn(&rig, Duration::from_secs(7));
    assert_eq!(text, "utterance 1");
    assert_eq!(ended["stt_providers"], json!(["google", "fake"]));
    assert_eq!(ended["tts_providers"], json!(["google", "fake"]));
    rig.finish();
}
