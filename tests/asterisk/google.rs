//! Google as the speech provider on the real Asterisk, against loopback
//! fakes of Speech-to-Text v2 (gRPC) and Text-to-Speech (REST): a turn
//! answered with Google as primary, and the next provider taking the turn
//! when Google's stream drops mid-call.

use crate::{
    audio::utterance,
    calls::{DID, T},
    gateway::{GatewayConfig, ROUTES},
    google_fake::{KEY, Stt, fake_stt, fake_tts},
    rig::{Rig, Setup},
};
use std::time::Duration;
use vg_testkit::Caller;

/// A gateway whose STT (and TTS) is Google at the fakes, plus `env`.
fn setup(rt: &tokio::runtime::Runtime, stt: Stt, env: &[(&str, &str)]) -> Setup {
    let (stt, _) = rt.block_on(fake_stt(stt));
    let (tts, _) = rt.block_on(fake_tts());
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

/// The caller speaks once; returns the call's first transcript.
fn one_turn(rig: &Rig) -> String {
    let said = utterance(
        &rig.ast,
        "google-turn",
        Duration::from_secs(4),
        Duration::from_millis(1200),
        Duration::from_secs(8),
    );
    let call = rig.ast.call(Caller::play(DID, &said)).unwrap();
    let id = rig.gw.nth_call(0, T);
    let heard = rig.gw.until_type("stt.transcribed", Some(&id), T);
    rig.gw.until_event("the answer played out", T, |_| {
        rig.gw
            .types_of(&id)
            .iter()
            .filter(|t| *t == "tts.generated")
            .count()
            >= 2
    });
    call.hangup().unwrap();
    rig.gw.until_type("call.ended", Some(&id), T);
    heard["data"]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn a_turn_is_answered_with_google_speech() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let env = [
        ("VOICEGW__SPEECH__STT", "google"),
        ("VOICEGW__SPEECH__TTS", "google"),
    ];
    let rig = Rig::start_with(setup(&rt, Stt::Hears, &env));
    assert_eq!(one_turn(&rig), "hello google");
    rig.finish();
}

#[test]
fn when_googles_stream_drops_the_fake_recogniser_takes_the_turn() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let env = [
        ("VOICEGW__SPEECH__STT", "google"),
        ("VOICEGW__SPEECH__STT_FALLBACK", "[\"fake\"]"),
    ];
    let rig = Rig::start_with(setup(&rt, Stt::Drops, &env));
    assert_eq!(one_turn(&rig), "utterance 1");
    rig.finish();
}
