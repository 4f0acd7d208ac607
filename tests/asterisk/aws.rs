//! Amazon Transcribe streaming and Polly as the gateway's providers on a
//! real Asterisk call, against the loopback fakes of
//! `tests/common/aws_fake.rs` (HTTP/2 event stream and HTTP/1.1, every SigV4
//! signature checked): the greeting synthesised by Polly reaches the caller,
//! the caller's turn is transcribed and answered; and when both fakes fail
//! mid-call, the route's next providers take over and the turn is kept.
//! The gateway's process takes its keys from the standard chain: a profile
//! of a shared credentials file, and the environment.

use crate::{
    audio::{secs, sentences, utterance},
    aws_fake::{HEARD, KEY, Polly, SECRET, Transcribe, aws_endpoints, fake_polly, fake_transcribe},
    calls::{DID, T},
    gateway::GatewayConfig,
    rig::{Rig, Setup},
};
use serde_json::json;
use std::sync::atomic::Ordering;
use std::time::Duration;
use vg_testkit::Caller;

const SPEECH: Duration = Duration::from_millis(1200);
/// When the caller speaks after Polly's greeting (a 600 ms tone: before the
/// gateway's 5 s no-input prompt).
const AFTER_POLLY: Duration = Duration::from_secs(3);
/// When the caller speaks after the fake synthesiser's longer greeting.
const AFTER_FAKE: Duration = Duration::from_secs(7);

/// A gateway whose every DID uses `speech` (a route's provider keys), with
/// `[speech.aws]` pointing at the fakes and no keys in the file: the
/// gateway's process finds them in `env` (the standard chain's variables).
fn rig(transcribe: &str, polly: &str, speech: &str, env: &[(&str, &str)]) -> Rig {
    let toml = format!(
        "{}[[routes]]\ndid = \"*\"\ntenant = \"acme\"\nagent = \"builtin\"\n{speech}",
        aws_endpoints(transcribe, polly)
    );
    // Nothing of the machine's own chain leaks in.
    let mut vars = vec![
        ("AWS_ACCESS_KEY_ID", ""),
        ("AWS_SECRET_ACCESS_KEY", ""),
        ("AWS_SESSION_TOKEN", ""),
        ("AWS_PROFILE", ""),
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent"),
    ];
    vars.extend_from_slice(env);
    let env = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Rig::start_with(Setup {
        gateway: GatewayConfig { toml, env },
        ..Setup::default()
    })
}

/// One call: the caller speaks once after the greeting; returns the call's
/// transcript and `call.ended` after checking the caller heard the greeting
/// and an answer, and that no turn failed. The caller speaks at `at`.
fn converse(rig: &Rig, at: Duration) -> (String, serde_json::Value) {
    let said = utterance(&rig.ast, "aws", at, SPEECH, Duration::from_secs(10));
    let call = rig.ast.call(Caller::play(DID, &said)).unwrap();
    let id = rig.gw.nth_call(0, T);
    let transcribed = rig.gw.until_type("stt.transcribed", Some(&id), T);
    rig.gw.until_count("tts.generated", &id, 2, T);
    call.hangup().unwrap();
    let ended = rig.gw.until_type("call.ended", Some(&id), T);
    let spans = sentences(&call.heard(T).unwrap());
    assert!(
        spans.first().is_some_and(|(s, _)| *s < at),
        "no greeting: {:?}",
        secs(&spans)
    );
    assert!(
        spans.iter().any(|(s, _)| *s > at + SPEECH),
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
fn a_conversation_with_transcribe_and_polly_on_the_real_asterisk() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (transcribe, streams) = rt.block_on(fake_transcribe(Transcribe::Hears));
    let (polly, texts) = rt.block_on(fake_polly(Polly::Speaks));
    // The keys come from a profile of a shared credentials file.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("credentials");
    let profile = format!(
        "[default]\naws_access_key_id = AKIDWRONG\naws_secret_access_key = wrong\n\
         [voice]\naws_access_key_id = {KEY}\naws_secret_access_key = {SECRET}\n"
    );
    std::fs::write(&file, profile).unwrap();
    let env = [
        ("AWS_SHARED_CREDENTIALS_FILE", file.to_str().unwrap()),
        ("AWS_PROFILE", "voice"),
    ];
    let speech = "stt = \"aws\"\ntts = \"polly\"\n";
    let rig = rig(&transcribe, &polly, speech, &env);
    let (text, ended) = converse(&rig, AFTER_POLLY);
    assert_eq!(text, HEARD);
    assert_eq!(ended["stt_providers"], json!(["aws"]));
    assert_eq!(ended["tts_providers"], json!(["polly"]));
    assert!(streams.load(Ordering::SeqCst) >= 1);
    let texts = texts.lock().unwrap().clone();
    assert!(texts.len() >= 2, "{texts:?}");
    assert!(
        texts.iter().any(|t| t.contains(HEARD)),
        "the answer repeats the transcript: {texts:?}"
    );
    rig.finish();
}

#[test]
fn transcribe_and_polly_failing_mid_call_on_the_real_asterisk_hand_over_the_turn() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (transcribe, streams) = rt.block_on(fake_transcribe(Transcribe::Drops));
    let (polly, texts) = rt.block_on(fake_polly(Polly::CutsFirst));
    let rig = rig(
        &transcribe,
        &polly,
        "stt = \"aws\"\nstt_fallback = [\"fake\"]\ntts = \"polly\"\ntts_fallback = [\"fake\"]\n",
        // The keys come from the environment.
        &[
            ("AWS_ACCESS_KEY_ID", KEY),
            ("AWS_SECRET_ACCESS_KEY", SECRET),
        ],
    );
    let (text, ended) = converse(&rig, AFTER_FAKE);
    // The fake recogniser heard the rest of the caller's utterance.
    assert_eq!(text, "utterance 1");
    assert_eq!(ended["stt_providers"], json!(["aws", "fake"]));
    assert_eq!(ended["tts_providers"], json!(["polly", "fake"]));
    assert!(
        streams.load(Ordering::SeqCst) >= 1,
        "Transcribe was tried first"
    );
    assert!(!texts.lock().unwrap().is_empty(), "Polly was tried first");
    rig.finish();
}
