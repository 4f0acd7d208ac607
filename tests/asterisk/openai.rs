//! OpenAI speech-to-text on real Asterisk calls, the gateway binary talking
//! to the loopback fake of the Realtime API: a route listening with OpenAI
//! understands the caller and transfers, and OpenAI dropping mid-utterance
//! hands the turn to the next recogniser of the route's chain.

use crate::{
    audio::utterance,
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
    assert_eq!(log.sessions[0]["input_audio_format"], "pcm16");
    // The caller's 1.2 s (at 48 bytes a millisecond), give or take the VAD's edges.
    assert!(
        log.committed_bytes[0] >= 800 * 48,
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
