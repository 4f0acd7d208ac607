//! Azure Speech as the gateway's provider on a real Asterisk call, against
//! the fake Azure service (`voice_gateway::adapter::speech::azure::fake`) on
//! loopback: the greeting synthesised by Azure reaches the caller, the
//! caller's turn is recognised by Azure, and the answer is heard.

use crate::{
    audio::{secs, sentences, utterance},
    calls::{DID, T},
    gateway::{GatewayConfig, ROUTES},
    rig::{Rig, Setup},
};
use std::time::Duration;
use vg_testkit::Caller;
use voice_gateway::adapter::speech::azure::fake::FakeAzure;

const KEY: &str = "az-asterisk-key";

#[test]
fn a_conversation_with_azure_on_the_real_asterisk() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let fake = runtime
        .block_on(FakeAzure::start(KEY, &["hello there"]))
        .unwrap();
    let env = [
        ("VOICEGW__SPEECH__STT", "azure"),
        ("VOICEGW__SPEECH__TTS", "azure"),
        ("VOICEGW__SPEECH__AZURE__API_KEY", KEY),
        ("VOICEGW__SPEECH__AZURE__BASE_URL", fake.url.as_str()),
    ];
    let rig = Rig::start_with(Setup {
        gateway: GatewayConfig {
            toml: ROUTES.into(),
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        },
        ..Setup::default()
    });
    let speech_at = Duration::from_secs(7);
    let speech = Duration::from_millis(1200);
    let said = utterance(
        &rig.ast,
        "azure",
        speech_at,
        speech,
        Duration::from_secs(10),
    );
    let call = rig.ast.call(Caller::play(DID, &said)).unwrap();
    let id = rig.gw.nth_call(0, T);
    let heard_said = rig.gw.until_type("stt.transcribed", Some(&id), T);
    assert_eq!(heard_said["data"]["text"], "hello there", "{heard_said}");
    rig.gw.until_event("the answer played out", T, |_| {
        rig.gw
            .types_of(&id)
            .iter()
            .filter(|t| *t == "tts.generated")
            .count()
            >= 2
    });
    call.hangup().unwrap();
    let ended = rig.gw.until_type("call.ended", Some(&id), T);
    assert_eq!(ended["data"]["stt_providers"], serde_json::json!(["azure"]));
    assert_eq!(ended["data"]["tts_providers"], serde_json::json!(["azure"]));
    // The caller heard Azure's greeting, then the answer after speaking.
    let heard = call.heard(T).unwrap();
    let spans = sentences(&heard);
    assert!(
        spans.first().is_some_and(|(s, _)| *s < speech_at),
        "no greeting: {:?}",
        secs(&spans)
    );
    let end_of_speech = speech_at + speech;
    assert!(
        spans.iter().any(|(s, _)| *s > end_of_speech),
        "no answer after the caller spoke: {:?}",
        secs(&spans)
    );
    let log = fake.log();
    assert_eq!(log.violations, Vec::<String>::new());
    assert!(
        log.tts.len() >= 2 && log.turns.iter().any(|t| t.ended),
        "{log:?}"
    );
    rig.finish();
}
