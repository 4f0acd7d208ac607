//! Inbound calls on the real Asterisk: greeting, turns, barge-in, DTMF,
//! hangups, unknown DIDs, a restart, and calls in a row and at once.

use crate::{
    audio::{SOUND_DBFS, secs, sentences, utterance},
    gateway::{GatewayConfig, ROUTES},
    rig::{Media, Rig, Setup},
};
use serde_json::Value;
use std::time::{Duration, Instant};
use vg_testkit::{Caller, wait_until, wav};

pub(crate) const DID: &str = "+15551234567";
/// Generous: a loaded two-core CI machine, real time audio.
pub(crate) const T: Duration = Duration::from_secs(30);

/// Routes with a one-word greeting, for tests about setup rather than talk.
pub(crate) fn short_greeting() -> Setup {
    Setup {
        gateway: GatewayConfig {
            toml: format!("{ROUTES}greeting = \"Hi.\"\n"),
            ..GatewayConfig::default()
        },
        ..Setup::default()
    }
}

#[test]
fn an_inbound_call_hears_the_greeting_and_ends_cleanly() {
    greeting_heard(Media::Rtp);
}

pub(crate) fn greeting_heard(media: Media) {
    let rig = Rig::start_with(Setup::default().over(media));
    let call = rig.ast.call(Caller::listen(DID)).unwrap();
    let id = rig.gw.nth_call(0, T);
    rig.assert_media_channel(media);
    rig.gw.until_type("tts.generated", Some(&id), T);
    call.hangup().unwrap();
    let ended = rig.gw.until_type("call.ended", Some(&id), T);
    assert_eq!(ended["data"]["reason"], "caller_hangup", "{ended}");
    let types = rig.gw.types_of(&id);
    assert_eq!(
        types[..3],
        ["call.started", "call.answered", "tts.generated"],
        "{types:?}"
    );
    let heard = call.heard(T).unwrap();
    let spans = sentences(&heard);
    // MixMonitor starts when the gateway answers: the greeting follows at once.
    assert!(
        spans
            .first()
            .is_some_and(|(start, end)| *start < Duration::from_millis(1500)
                && *end - *start > Duration::from_secs(2)),
        "the caller heard {:?}",
        secs(&spans)
    );
    rig.finish();
}

#[test]
fn a_caller_turn_gets_an_answer() {
    turn_answered(Media::Rtp);
}

pub(crate) fn turn_answered(media: Media) {
    let rig = Rig::start_with(Setup::default().over(media));
    // The stock greeting plays for about 4.6 s (the fake voice's 60 ms a character).
    let speech_at = Duration::from_secs(7);
    let speech = Duration::from_millis(1200);
    let said = utterance(&rig.ast, "turn", speech_at, speech, Duration::from_secs(10));
    let call = rig.ast.call(Caller::play(DID, &said)).unwrap();
    let id = rig.gw.nth_call(0, T);
    let heard_said = rig.gw.until_type("stt.transcribed", Some(&id), T);
    assert_eq!(heard_said["data"]["text"], "utterance 1", "{heard_said}");
    // The greeting's, then the answer's.
    rig.gw.until_count("tts.generated", &id, 2, T);
    call.hangup().unwrap();
    rig.gw.until_type("call.ended", Some(&id), T);
    let heard = call.heard(T).unwrap();
    let spans = sentences(&heard);
    let end_of_speech = speech_at + speech;
    let answer = spans
        .iter()
        .find(|(start, _)| *start > end_of_speech)
        .unwrap_or_else(|| panic!("no answer after the caller spoke: {:?}", secs(&spans)));
    let silence = answer.0 - end_of_speech;
    eprintln!("real Asterisk, fake speech: end of speech to the answer's first sound: {silence:?}");
    assert!(silence < Duration::from_secs(3), "{:?}", secs(&spans));
    rig.finish();
}

/// The caller talks over the greeting: the agent's audio stops in the
/// caller's own recording within 150 ms of the caller's speech onset.
#[test]
fn barge_in_stops_the_agent_within_150_ms() {
    barge_in_within_150_ms(Media::Rtp);
}

pub(crate) fn barge_in_within_150_ms(media: Media) {
    let rig = Rig::start_with(Setup::default().over(media));
    let speech_at = Duration::from_millis(2500);
    let said = utterance(
        &rig.ast,
        "barge",
        speech_at,
        Duration::from_millis(1500),
        Duration::from_secs(8),
    );
    let call = rig.ast.call(Caller::play(DID, &said)).unwrap();
    let id = rig.gw.nth_call(0, T);
    rig.gw.until_type("call.bargein", Some(&id), T);
    rig.gw.until_type("stt.transcribed", Some(&id), T);
    call.hangup().unwrap();
    rig.gw.until_type("call.ended", Some(&id), T);
    let (heard, spoke) = (call.heard(T).unwrap(), call.said(T).unwrap());
    let onset = wav::first_sound_after(&spoke.samples, spoke.rate, Duration::ZERO, SOUND_DBFS)
        .expect("the caller's speech is in its own recording");
    // The agent was talking at the onset; its audio ends where the first
    // silence of 400 ms or more after the onset begins.
    let spans = heard.spans(SOUND_DBFS, Duration::from_millis(400));
    let talking = spans
        .iter()
        .find(|(start, end)| *start <= onset && *end > onset)
        .unwrap_or_else(|| {
            panic!(
                "the agent was not talking at the caller's onset {onset:?}: {:?}",
                secs(&spans)
            )
        });
    let stop = talking.1 - onset;
    eprintln!(
        "real Asterisk barge-in over {media:?}: agent audio stopped {stop:?} after the caller's onset"
    );
    assert!(
        stop <= Duration::from_millis(150),
        "the agent went on for {stop:?} after the caller's onset {onset:?}: {:?}",
        secs(&spans)
    );
    rig.finish();
}

#[test]
fn dtmf_digits_reach_the_call() {
    dtmf_reaches_the_call(Media::Rtp);
}

pub(crate) fn dtmf_reaches_the_call(media: Media) {
    // Keys in events only when the operator says so (see attacks.rs for the default).
    let mut setup = Setup::default().over(media);
    setup
        .gateway
        .env
        .push(("VOICEGW__SESSION__DTMF_IN_EVENTS".into(), "true".into()));
    let rig = Rig::start_with(setup);
    let call = rig
        .ast
        .call(Caller::dtmf(DID, "123#", Duration::from_secs(2)))
        .unwrap();
    let id = rig.gw.nth_call(0, T);
    let digits = || -> Vec<String> {
        rig.gw
            .events()
            .iter()
            .filter(|e| e["subject"] == id.as_str() && e["type"] == "call.dtmf")
            .map(|e| e["data"]["digit"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    rig.gw
        .until_event("four digits", T, |_| digits().len() >= 4);
    call.hangup().unwrap();
    rig.gw.until_type("call.ended", Some(&id), T);
    // Counted once the call is over: over AudioSocket each press is reported
    // twice (ARI and the socket's 0x03), and must be taken once.
    assert_eq!(digits(), ["1", "2", "3", "#"]);
    rig.finish();
}

#[test]
fn a_caller_hanging_up_mid_sentence_ends_the_call_cleanly() {
    caller_hangs_up_mid_sentence(Media::Rtp);
}

pub(crate) fn caller_hangs_up_mid_sentence(media: Media) {
    let rig = Rig::start_with(Setup::default().over(media));
    let quiet = utterance(
        &rig.ast,
        "quiet",
        Duration::from_secs(5),
        Duration::ZERO,
        Duration::ZERO,
    );
    // The greeting lasts about 4.6 s; the caller leaves after 2.
    let call = rig
        .ast
        .call(Caller::hangup_mid(DID, &quiet, Duration::from_secs(2)))
        .unwrap();
    let id = rig.gw.nth_call(0, T);
    let ended = rig.gw.until_type("call.ended", Some(&id), T);
    assert_eq!(ended["data"]["reason"], "caller_hangup", "{ended}");
    assert!(
        !rig.gw.types_of(&id).contains(&"tts.generated".to_owned()),
        "the greeting was cut, not finished"
    );
    call.wait_ended(T).unwrap();
    rig.finish();
}

#[test]
fn an_unknown_did_hears_the_message_and_is_hung_up() {
    let rig = Rig::start_with(Setup {
        gateway: GatewayConfig {
            toml: "[[routes]]\ndid = \"+15551234567\"\ntenant = \"acme\"\nagent = \"builtin\"\n"
                .into(),
            ..GatewayConfig::default()
        },
        ..Setup::default()
    });
    let call = rig.ast.call(Caller::listen("+15559999999")).unwrap();
    let ended = rig.gw.until_type("call.ended", None, T);
    assert_eq!(ended["data"]["reason"], "unknown_did", "{ended}");
    call.wait_ended(T).unwrap();
    let heard = call.heard(T).unwrap();
    assert!(
        !sentences(&heard).is_empty(),
        "the caller heard the no-service message"
    );
    rig.finish();
}

/// One call: answered, greeted, hung up by the caller. Returns the end reason.
fn one_short_call(rig: &Rig, n: usize) -> String {
    let call = rig.ast.call(Caller::listen(DID)).unwrap();
    let id = rig.gw.nth_call(n, T);
    rig.gw.until_event("the greeting or the end", T, |e| {
        e["subject"] == id.as_str() && (e["type"] == "tts.generated" || e["type"] == "call.ended")
    });
    call.hangup().unwrap();
    let ended = rig.gw.until_type("call.ended", Some(&id), T);
    call.wait_ended(T).unwrap();
    ended["data"]["reason"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// `VG_SEQUENTIAL_CALLS` (default 50) calls one after another, none failing
/// at setup; `make test-asterisk-soak` runs 200.
#[test]
fn calls_in_a_row_all_set_up() {
    let n: usize = std::env::var("VG_SEQUENTIAL_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let rig = Rig::start_with(short_greeting());
    let began = Instant::now();
    let reasons: Vec<String> = (0..n).map(|i| one_short_call(&rig, i)).collect();
    let failed: Vec<(usize, &String)> = reasons
        .iter()
        .enumerate()
        .filter(|(_, r)| *r != "caller_hangup")
        .collect();
    eprintln!(
        "real Asterisk: {n} sequential calls in {:.1} s, {} setup errors",
        began.elapsed().as_secs_f64(),
        failed.len()
    );
    assert!(failed.is_empty(), "calls that failed: {failed:?}");
    rig.finish();
}

#[test]
fn twenty_calls_at_once_all_set_up() {
    twenty_at_once(Media::Rtp);
}

pub(crate) fn twenty_at_once(media: Media) {
    let rig = Rig::start_with(short_greeting().over(media));
    let calls: Vec<_> = (0..20)
        .map(|_| rig.ast.call(Caller::listen(DID)).unwrap())
        .collect();
    let greeted = wait_until(T, || {
        let evs = rig.gw.events();
        let done = |t: &str| evs.iter().filter(|e| e["type"] == t).count();
        done("tts.generated") + done("call.ended") >= 20
    });
    assert!(greeted, "events: {:?}", rig.gw.events().len());
    for c in &calls {
        c.hangup().unwrap();
    }
    assert!(wait_until(T, || {
        rig.gw
            .events()
            .iter()
            .filter(|e| e["type"] == "call.ended")
            .count()
            == 20
    }));
    let ended: Vec<Value> = rig
        .gw
        .events()
        .into_iter()
        .filter(|e| e["type"] == "call.ended")
        .collect();
    assert!(
        ended.iter().all(|e| e["data"]["reason"] == "caller_hangup"),
        "{:?}",
        ended
            .iter()
            .map(|e| format!("{} {}", e["data"]["reason"], e["data"]["detail"]))
            .collect::<Vec<_>>()
    );
    rig.finish();
}

#[test]
fn asterisk_restarted_between_calls() {
    let mut rig = Rig::start_with(short_greeting());
    assert_eq!(one_short_call(&rig, 0), "caller_hangup");
    rig.ast.restart().unwrap();
    // The gateway reconnects its events socket; the app is registered again.
    let app = rig.ast.stasis_app().to_owned();
    assert!(
        wait_until(T, || rig.gw.ready()
            && rig.ast.ari_get("/applications").is_ok_and(|a| a
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x["name"] == app.as_str())))),
        "the gateway did not come back: {:?}",
        rig.gw.log().iter().rev().take(10).collect::<Vec<_>>()
    );
    assert_eq!(one_short_call(&rig, 1), "caller_hangup");
    rig.finish();
}
