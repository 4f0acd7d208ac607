//! Transfers through the API on the real Asterisk: blind into the dialplan,
//! attended to a person who answers, and attended to one who does not.

use crate::{
    audio::{secs, sentences, utterance},
    calls::{DID, T},
    gateway::{GatewayConfig, ROUTES},
    rig::{Rig, Setup},
};
use serde_json::{Value, json};
use std::time::Duration;
use vg_testkit::{AsteriskServer, Caller, wait_until, wav};

/// Extension of `[vg-transfer]` a blind transfer goes to (the API takes
/// E.164 numbers or digit-only extensions).
const DESK: &str = "200";
/// `[session.transfer_endpoints]` names: a person who answers, one who does not.
pub(crate) const PERSON: &str = "300";
const NOBODY: &str = "301";
/// A person whose phone rings 6 s, then who answers as [`PERSON`] does.
pub(crate) const PERSON_LATE: &str = "302";
const UNAVAILABLE: &str = "Nobody is free to take your call right now.";

const DIALPLAN: &str = r#"
[vg-transfer]
exten => 200,1,Log(NOTICE,VG-TRANSFERRED ${CHANNEL})
 same => n,Answer()
 same => n,Playback(hello-world)
 same => n,Hangup()

; A person who answers and records what they hear
; (recordings/person-<uniqueid>-rx.wav), and one whose phone only rings.
[vg-person]
exten => agent,1,Answer()
 same => n,Set(REC=${VG_SILENCE:0:-17}recordings/person-${UNIQUEID})
 same => n,MixMonitor(${REC}.wav,r(${REC}-rx.wav))
 same => n,Goto(vg-caller,silence,1)
exten => ring,1,Ringing()
 same => n,Wait(60)
 same => n,Hangup()
exten => late,1,Ringing()
 same => n,Wait(6)
 same => n,Goto(vg-person,agent,1)
"#;

pub(crate) fn transfer_setup() -> Setup {
    transfer_setup_ringing("3s")
}

/// [`transfer_setup`] with the person's phone ringing up to `ring_timeout`.
pub(crate) fn transfer_setup_ringing(ring_timeout: &str) -> Setup {
    let toml = format!(
        "{ROUTES}\n[session]\ntransfer_context = \"vg-transfer\"\n\
         transfer_ring_timeout = \"{ring_timeout}\"\n\
         transfer_unavailable_text = \"{UNAVAILABLE}\"\n\
         \n[session.transfer_endpoints]\n\"{PERSON}\" = \"Local/agent@vg-person\"\n\
         \"{NOBODY}\" = \"Local/ring@vg-person\"\n\"{PERSON_LATE}\" = \"Local/late@vg-person\"\n"
    );
    Setup {
        extensions: DIALPLAN.into(),
        gateway: GatewayConfig {
            toml,
            ..GatewayConfig::default()
        },
        ..Setup::default()
    }
}

/// Waits until the call's record says `active` (answered, media up).
pub(crate) fn until_active(rig: &Rig, id: &str) {
    let mut last = Value::Null;
    let active = wait_until(T, || {
        last = rig.gw.call_record(id);
        last["state"] == "active"
    });
    assert!(active, "the call never became active: {last}");
}

pub(crate) fn transfer(rig: &Rig, id: &str, target: &str, mode: &str) {
    let (status, body) = rig.gw.http(
        "POST",
        &format!("/v1/calls/{id}/transfer"),
        Some(json!({"target": target, "mode": mode})),
        true,
    );
    assert_eq!(status, 202, "{body}");
}

/// Events of type `t` of the call.
fn of_type(rig: &Rig, id: &str, t: &str) -> Vec<Value> {
    rig.gw
        .events()
        .into_iter()
        .filter(|e| e["subject"] == id && e["type"] == t)
        .collect()
}

#[test]
fn a_blind_transfer_continues_the_caller_in_the_transfer_context() {
    let rig = Rig::start_with(transfer_setup());
    let call = rig.ast.call(Caller::listen(DID)).unwrap();
    let id = rig.gw.nth_call(0, T);
    until_active(&rig, &id);
    transfer(&rig, &id, DESK, "blind");
    let transferred = rig.gw.until_type("call.transferred", Some(&id), T);
    assert_eq!(transferred["data"]["target"], DESK, "{transferred}");
    assert_eq!(transferred["data"]["mode"], "blind", "{transferred}");
    let ended = rig.gw.until_type("call.ended", Some(&id), T);
    assert_eq!(ended["data"]["reason"], "transferred", "{ended}");
    let escalated = of_type(&rig, &id, "call.escalated");
    assert!(
        escalated
            .iter()
            .any(|e| e["data"]["status"] == "started" && e["data"]["mode"] == "blind"),
        "{escalated:?}"
    );
    // The dialplan took the caller's inbound half (`;2`) and played to it.
    let line = format!("VG-TRANSFERRED Local/{DID}@vg-in-");
    assert!(
        wait_until(T, || rig.ast.log_text().contains(&line)),
        "no {line:?} in Asterisk's log"
    );
    call.wait_ended(T).unwrap();
    let heard = call.heard(T).unwrap();
    let spans = sentences(&heard);
    // The greeting (cut by the transfer or not), then hello-world.
    assert!(!spans.is_empty(), "the caller heard {:?}", secs(&spans));
    let record = rig.gw.call_record(&id);
    assert_eq!(record["end_reason"], "transferred", "{record}");
    rig.finish();
}

/// What the person heard (its `person-*-rx.wav`).
pub(crate) fn person_heard(ast: &AsteriskServer) -> wav::Wav {
    crate::audio::recorded_heard(ast, "person-", T)
}

#[test]
fn an_attended_transfer_connects_the_caller_to_the_person() {
    let rig = Rig::start_with(transfer_setup());
    // The caller says something well after the greeting (about 4.6 s) and
    // the handover, then hangs up.
    let said = utterance(
        &rig.ast,
        "to-person",
        Duration::from_secs(8),
        Duration::from_secs(2),
        Duration::from_secs(10),
    );
    let call = rig
        .ast
        .call(Caller::hangup_mid(DID, &said, Duration::from_secs(12)))
        .unwrap();
    let id = rig.gw.nth_call(0, T);
    until_active(&rig, &id);
    transfer(&rig, &id, PERSON, "attended");
    let transferred = rig.gw.until_type("call.transferred", Some(&id), T);
    assert_eq!(transferred["data"]["mode"], "attended", "{transferred}");
    assert_eq!(transferred["data"]["target"], PERSON, "{transferred}");
    let ended = rig.gw.until_type("call.ended", Some(&id), T);
    assert_eq!(ended["data"]["reason"], "transferred", "{ended}");
    // One bridge holds the caller's inbound half and the person's leg, and
    // nothing else (the AI's media channel left it).
    let inbound = call.inbound_id();
    let person = format!("vg-h-{id}");
    let mut bridges = Value::Null;
    let joined = wait_until(T, || {
        bridges = rig.ast.ari_get("/bridges").unwrap_or_default();
        bridges.as_array().is_some_and(|all| {
            all.iter().any(|b| {
                let mut ch: Vec<&str> = b["channels"]
                    .as_array()
                    .map(|c| c.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                ch.sort_unstable();
                let mut want = [inbound.as_str(), person.as_str()];
                want.sort_unstable();
                ch == want
            })
        })
    });
    assert!(joined, "no bridge of {inbound} and {person}: {bridges}");
    let types = rig.gw.types_of(&id);
    let escalated = types.iter().position(|t| t == "call.escalated");
    let done = types.iter().position(|t| t == "call.transferred");
    assert!(
        escalated.is_some() && escalated < done,
        "escalated, then transferred: {types:?}"
    );
    assert!(
        !of_type(&rig, &id, "call.escalated")
            .iter()
            .any(|e| e["data"]["status"] == "failed"),
        "{types:?}"
    );
    // The caller hangs up (VG_MAX): the gateway hangs up the person.
    call.wait_ended(T).unwrap();
    rig.assert_asterisk_empty();
    let heard = person_heard(&rig.ast);
    let spans = sentences(&heard);
    assert!(
        spans
            .iter()
            .any(|(start, end)| *end - *start > Duration::from_millis(1500)),
        "the person heard {:?} (the caller's 2 s)",
        secs(&spans)
    );
    let ends = of_type(&rig, &id, "call.ended");
    assert_eq!(ends.len(), 1, "one call.ended: {ends:?}");
    rig.finish();
}

#[test]
fn an_attended_transfer_nobody_answers_goes_back_to_the_agent() {
    let rig = Rig::start_with(transfer_setup());
    let call = rig.ast.call(Caller::listen(DID)).unwrap();
    let id = rig.gw.nth_call(0, T);
    until_active(&rig, &id);
    transfer(&rig, &id, NOBODY, "attended");
    let failed = rig.gw.until_event("the transfer failed", T, |e| {
        e["subject"] == id.as_str()
            && e["type"] == "call.escalated"
            && e["data"]["status"] == "failed"
    });
    assert_eq!(failed["data"]["outcome"], "no_answer", "{failed}");
    assert_eq!(failed["data"]["mode"], "attended", "{failed}");
    let said = rig.gw.until_event("the unavailable text spoken", T, |e| {
        e["subject"] == id.as_str()
            && e["type"] == "tts.generated"
            && e["data"]["text"] == UNAVAILABLE
    });
    assert!(said["data"]["audio_ms"].as_u64() > Some(1000), "{said}");
    // The call goes on: the caller is still there and the call active.
    assert!(call.is_up().unwrap(), "the caller was hung up");
    let record = rig.gw.call_record(&id);
    assert_eq!(record["state"], "active", "{record}");
    let types = rig.gw.types_of(&id);
    assert!(
        !types
            .iter()
            .any(|t| t == "call.transferred" || t == "call.ended"),
        "{types:?}"
    );
    // The person's leg is gone from Asterisk.
    let person = format!("vg-h-{id}");
    assert!(
        wait_until(T, || !rig
            .ast
            .channels()
            .unwrap_or_default()
            .iter()
            .any(|c| c.starts_with(&person))),
        "the person's leg is still up"
    );
    call.hangup().unwrap();
    let ended = rig.gw.until_type("call.ended", Some(&id), T);
    assert_eq!(ended["data"]["reason"], "caller_hangup", "{ended}");
    // The caller heard both: as much sound as the greeting and the
    // unavailable text together (back to back, they may merge into one span).
    let spoken: u64 = of_type(&rig, &id, "tts.generated")
        .iter()
        .filter_map(|e| e["data"]["audio_ms"].as_u64())
        .sum();
    let heard = call.heard(T).unwrap();
    let spans = sentences(&heard);
    let sound: Duration = spans.iter().map(|(a, b)| *b - *a).sum();
    assert!(
        sound + Duration::from_millis(500) >= Duration::from_millis(spoken),
        "the caller heard {:?}, the agent said {spoken} ms",
        secs(&spans)
    );
    rig.finish();
}

/// ARI's HTTP side is unreachable for the gateway (the relay refuses and cuts
/// its connections) when a blind transfer is asked: with `[ami]` set the
/// caller still continues in the transfer context (an AMI `Redirect`) and
/// the call ends as transferred.
#[test]
fn with_ari_unreachable_a_blind_transfer_goes_over_ami() {
    let mut setup = transfer_setup();
    setup.relay = true;
    setup.ami = true;
    let rig = Rig::start_with(setup);
    let call = rig.ast.call(Caller::listen(DID)).unwrap();
    let id = rig.gw.nth_call(0, T);
    until_active(&rig, &id);
    let relay = rig.relay.as_ref().unwrap();
    relay.hold();
    transfer(&rig, &id, DESK, "blind");
    let line = format!("VG-TRANSFERRED Local/{DID}@vg-in-");
    assert!(
        wait_until(T, || rig.ast.log_text().contains(&line)),
        "no {line:?} in Asterisk's log: {:?}",
        rig.gw.log().iter().rev().take(12).collect::<Vec<_>>()
    );
    let ended = rig.gw.until_type("call.ended", Some(&id), T);
    assert_eq!(ended["data"]["reason"], "transferred", "{ended}");
    call.wait_ended(T).unwrap();
    let (_, metrics) = rig.gw.get_text("/metrics");
    assert!(
        metrics.contains(r#"voicegw_ami_fallback_total{action="redirect",outcome="ok"}"#),
        "the redirect went over AMI: {}",
        metrics
            .lines()
            .filter(|l| l.contains("ami"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    rig.assert_asterisk_empty();
    relay.release();
    rig.finish();
}
