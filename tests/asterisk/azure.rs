//! Azure Speech as the gateway's provider on a real Asterisk call, against
//! the fake Azure service (`voice_gateway::adapter::speech::azure::fake`) on
//! loopback: the greeting synthesised by Azure reaches the caller, the
//! caller's turn is recognised by Azure and answered; and when the fake
//! fails mid-call, the route's next provider takes the turn.

use crate::{
    audio::{secs, sentences, utterance},
    calls::{DID, T},
    gateway::GatewayConfig,
    rig::{Rig, Setup},
};
use serde_json::json;
use std::time::Duration;
use vg_testkit::Caller;
use voice_gateway::adapter::speech::azure::fake::{FakeAzure, SttFault, TtsFault};

const KEY: &str = "az-asterisk-key";
const SPEECH_AT: Duration = Duration::from_secs(7);
const SPEECH: Duration = Duration::from_millis(1200);

/// A gateway whose every DID uses `speech` (a route's provider keys) with
/// `[speech.azure]` pointing at `fake`.
fn rig(fake: &FakeAzure, speech: &str) -> Rig {
    let toml = format!(
        "[speech.azure]\napi_key = \"{KEY}\"\nbase_url = \"{}\"\n\
         [[routes]]\ndid = \"*\"\ntenant = \"acme\"\nagent = \"builtin\"\n{speech}",
        fake.url
    );
    Rig::start_with(Setup {
        gateway: GatewayConfig {
            toml,
            env: Vec::new(),
        },
        ..Setup::default()
    })
}

/// One call: the caller speaks once after the greeting; returns the call's
/// transcript and `call.ended` after checking the caller heard the greeting
/// and an answer.
fn converse(rig: &Rig) -> (String, serde_json::Value) {
    let said = utterance(
        &rig.ast,
        "azure",
        SPEECH_AT,
        SPEECH,
        Duration::from_secs(10),
    );
    let call = rig.ast.call(Caller::play(DID, &said)).unwrap();
    let id = rig.gw.nth_call(0, T);
    let transcribed = rig.gw.until_type("stt.transcribed", Some(&id), T);
    rig.gw.until_count("tts.generated", &id, 2, T);
    call.hangup().unwrap();
    let ended = rig.gw.until_type("call.ended", Some(&id), T);
    let heard = call.heard(T).unwrap();
    let spans = sentences(&heard);
    assert!(
        spans.first().is_some_and(|(s, _)| *s < SPEECH_AT),
        "no greeting: {:?}",
        secs(&spans)
    );
    assert!(
        spans.iter().any(|(s, _)| *s > SPEECH_AT + SPEECH),
        "no answer after the caller spoke: {:?}",
        secs(&spans)
    );
    let failures = ["error.stt_failed", "error.tts_failed"];
    let types = rig.gw.types_of(&id);
    assert!(
        !types.iter().any(|t| failures.contains(&t.as_str())),
        "{types:?}"
    );
    let text = transcribed["data"]["text"].as_str().unwrap_or_default();
    (text.to_owned(), ended["data"].clone())
}

#[test]
fn a_conversation_with_azure_on_the_real_asterisk() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let fake = runtime
        .block_on(FakeAzure::start(KEY, &["hello there"]))
        .unwrap();
    let rig = rig(&fake, "stt = \"azure\"\ntts = \"azure\"\n");
    let (text, ended) = converse(&rig);
    assert_eq!(text, "hello there");
    assert_eq!(ended["stt_providers"], json!(["azure"]));
    assert_eq!(ended["tts_providers"], json!(["azure"]));
    let log = fake.log();
    assert_eq!(log.violations, Vec::<String>::new());
    assert!(
        log.tts.len() >= 2 && log.turns.iter().any(|t| t.ended),
        "{log:?}"
    );
    rig.finish();
}

#[test]
fn azure_failing_mid_call_on_the_real_asterisk_hands_over_the_turn() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let fake = runtime
        .block_on(FakeAzure::start(KEY, &["hello there"]))
        .unwrap();
    fake.fail_next_tts(TtsFault::DisconnectMidBody);
    fake.fail_next_stt(SttFault::DisconnectOnSpeech);
    let rig = rig(
        &fake,
        "stt = \"azure\"\nstt_fallback = [\"fake\"]\ntts = \"azure\"\ntts_fallback = [\"fake\"]\n",
    );
    let (text, ended) = converse(&rig);
    // The fake recogniser heard the rest of the caller's utterance.
    assert_eq!(text, "utterance 1");
    assert_eq!(ended["stt_providers"], json!(["azure", "fake"]));
    assert_eq!(ended["tts_providers"], json!(["azure", "fake"]));
    rig.finish();
}
