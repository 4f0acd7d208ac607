//! Outbound calls through the API on the real Asterisk: answered, busy, not
//! answered, and the default agent. The gateway dials `Local/{number}@vg-callee`
//! and the callee is a dialplan extension that answers, is busy, or rings.

use crate::{
    audio::{secs, sentences},
    calls::T,
    gateway::{GatewayConfig, ROUTES},
    rig::{Rig, Setup},
};
use serde_json::{Value, json};
use std::time::Duration;
use vg_testkit::{AsteriskServer, wav};

/// Answers, records what it hears (`recordings/callee-<uniqueid>-rx.wav`)
/// and sends silence until hung up.
pub(crate) const ANSWERS: &str = "+15550000001";
/// Busy.
pub(crate) const BUSY: &str = "+15550000002";
/// Rings and never answers.
pub(crate) const RINGS: &str = "+15550000003";
/// Rings for 6 s, then answers as [`ANSWERS`] does.
pub(crate) const ANSWERS_LATE: &str = "+15550000005";

/// The callees. The recordings folder is the sounds folder's sibling, so it
/// is found from the harness's `VG_SILENCE` (`<dir>/sounds/vg-silence`).
pub(crate) const CALLEES: &str = r#"
[vg-callee]
exten => +15550000001,1,Answer()
 same => n,Set(REC=${VG_SILENCE:0:-17}recordings/callee-${UNIQUEID})
 same => n,MixMonitor(${REC}.wav,r(${REC}-rx.wav))
 same => n,Goto(vg-caller,silence,1)
exten => +15550000002,1,Busy(20)
 same => n,Hangup()
exten => +15550000003,1,Ringing()
 same => n,Wait(60)
 same => n,Hangup()
exten => +15550000005,1,Ringing()
 same => n,Wait(6)
 same => n,Goto(vg-callee,+15550000001,1)
"#;

pub(crate) fn outbound_setup(extra_toml: &str) -> Setup {
    Setup {
        extensions: CALLEES.into(),
        gateway: GatewayConfig {
            toml: format!("{ROUTES}{extra_toml}"),
            env: vec![(
                "VOICEGW__OUTBOUND__ENDPOINT".into(),
                "Local/{number}@vg-callee".into(),
            )],
        },
        ..Setup::default()
    }
}

/// `POST /v1/calls`; asserts a 201 in state `originating`, returns the record.
pub(crate) fn originate(rig: &Rig, body: Value) -> Value {
    let (status, view) = rig.gw.http("POST", "/v1/calls", Some(body), true);
    assert_eq!(status, 201, "{view}");
    assert_eq!(view["state"], "originating", "{view}");
    assert_eq!(view["direction"], "outbound", "{view}");
    view
}

/// What the callee heard (its `callee-*-rx.wav`).
pub(crate) fn callee_heard(ast: &AsteriskServer) -> wav::Wav {
    crate::audio::recorded_heard(ast, "callee-", T)
}

#[test]
fn an_answered_outbound_call_hears_the_agent_and_is_hung_up_by_the_api() {
    let rig = Rig::start_with(outbound_setup(""));
    let view = originate(&rig, json!({"to": ANSWERS, "agent_id": "builtin"}));
    let id = view["call_id"].as_str().unwrap().to_owned();
    rig.gw.until_type("call.answered", Some(&id), T);
    // The greeting played out to the callee.
    rig.gw.until_type("tts.generated", Some(&id), T);
    let record = rig.gw.call_record(&id);
    assert_eq!(record["state"], "active", "{record}");
    assert!(record["answered_at"].is_string(), "{record}");
    let (status, body) = rig
        .gw
        .http("POST", &format!("/v1/calls/{id}/hangup"), None, true);
    assert_eq!(status, 202, "{body}");
    let ended = rig.gw.until_type("call.ended", Some(&id), T);
    assert_eq!(ended["data"]["reason"], "agent_hangup", "{ended}");
    assert_eq!(ended["data"]["direction"], "outbound", "{ended}");
    assert_eq!(ended["data"]["answered"], true, "{ended}");
    let types = rig.gw.types_of(&id);
    let without_ringing: Vec<&str> = types
        .iter()
        .map(String::as_str)
        .filter(|t| *t != "call.ringing")
        .collect();
    assert_eq!(
        without_ringing[..3],
        ["call.started", "call.answered", "tts.generated"],
        "{types:?}"
    );
    eprintln!("real Asterisk, Local callee that answers at once: events {types:?}");
    let record = rig.gw.call_record(&id);
    assert_eq!(record["state"], "ended", "{record}");
    assert_eq!(record["end_reason"], "agent_hangup", "{record}");
    rig.assert_asterisk_empty();
    let heard = callee_heard(&rig.ast);
    let spans = sentences(&heard);
    assert!(
        spans
            .iter()
            .any(|(start, end)| *end - *start > Duration::from_secs(2)),
        "the callee heard {:?}",
        secs(&spans)
    );
    rig.finish();
}

/// Places a call to `to`, waits for its end; returns the end event and the types.
fn unanswered(rig: &Rig, body: Value) -> (Value, Vec<String>) {
    let view = originate(rig, body);
    let id = view["call_id"].as_str().unwrap().to_owned();
    let ended = rig.gw.until_type("call.ended", Some(&id), T);
    let types = rig.gw.types_of(&id);
    assert!(!types.contains(&"call.answered".to_owned()), "{types:?}");
    assert_eq!(ended["data"]["answered"], false, "{ended}");
    let record = rig.gw.call_record(&id);
    assert_eq!(record["state"], "ended", "{record}");
    assert_eq!(record["end_reason"], ended["data"]["reason"], "{record}");
    (ended, types)
}

#[test]
fn a_busy_callee_ends_the_call_as_busy() {
    let rig = Rig::start_with(outbound_setup(""));
    let (ended, types) = unanswered(&rig, json!({"to": BUSY}));
    assert_eq!(ended["data"]["reason"], "busy", "{ended}; {types:?}");
    rig.finish();
}

#[test]
fn a_callee_that_never_answers_ends_the_call_as_no_answer() {
    let rig = Rig::start_with(outbound_setup(""));
    let began = std::time::Instant::now();
    let (ended, types) = unanswered(&rig, json!({"to": RINGS, "ring_timeout_secs": 5}));
    assert_eq!(ended["data"]["reason"], "no_answer", "{ended}; {types:?}");
    let took = began.elapsed();
    eprintln!("real Asterisk, Local callee ringing: events {types:?}, ended after {took:?}");
    assert!(
        took >= Duration::from_secs(4) && took < Duration::from_secs(12),
        "rang for {took:?} with ring_timeout_secs 5"
    );
    rig.finish();
}

#[test]
fn without_agent_id_the_tenants_only_agent_takes_the_call() {
    let rig = Rig::start_with(outbound_setup(""));
    let view = originate(&rig, json!({"to": BUSY}));
    assert_eq!(view["agent_id"], "builtin", "{view}");
    let id = view["call_id"].as_str().unwrap().to_owned();
    let started = rig.gw.until_type("call.started", Some(&id), T);
    assert_eq!(started["data"]["agent_id"], "builtin", "{started}");
    rig.gw.until_type("call.ended", Some(&id), T);
    rig.finish();
}

#[test]
fn without_agent_id_a_tenant_with_two_agents_is_a_422_naming_both() {
    let second = "[[routes]]\ndid = \"+15559*\"\ntenant = \"acme\"\nagent = \"sales\"\n";
    let rig = Rig::start_with(outbound_setup(second));
    let (status, body) = rig
        .gw
        .http("POST", "/v1/calls", Some(json!({"to": ANSWERS})), true);
    assert_eq!(status, 422, "{body}");
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("builtin") && detail.contains("sales"),
        "{body}"
    );
    assert!(
        !rig.gw.events().iter().any(|e| e["type"] == "call.started"),
        "no call was placed"
    );
    rig.finish();
}
