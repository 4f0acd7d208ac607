//! A call already handed to a person when the active instance dies (`[ha]`):
//! caller and person stay bridged through the takeover (no hangup), the new
//! holder watches them, and hangs the person up once the caller leaves; the
//! call's one `call.ended` is the one the old instance published at the
//! handover.

use crate::{
    audio::{secs, sentences, utterance},
    calls::{DID, T},
    gateway::Gateway,
    ha::{active, pair_in, pair_in_timed},
    ha_takeover::{LEASE_TTL, RENEW},
    transfers::{
        PERSON, PERSON_LATE, person_heard, transfer, transfer_setup, transfer_setup_ringing,
        until_active,
    },
};
use serde_json::Value;
use std::time::Duration;
use vg_testkit::{AsteriskServer, Caller, RedisServer, wait_until};

/// Whether Asterisk has a bridge of exactly `a` and `b`.
fn bridged(ast: &AsteriskServer, a: &str, b: &str) -> bool {
    let all = ast.ari_get("/bridges").unwrap_or_default();
    all.as_array().is_some_and(|all| {
        all.iter().any(|br| {
            let mut ch: Vec<&str> = br["channels"]
                .as_array()
                .map(|c| c.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            ch.sort_unstable();
            let mut want = [a, b];
            want.sort_unstable();
            ch == want
        })
    })
}

fn ended_count(gw: &Gateway, id: &str) -> usize {
    (gw.events().iter())
        .filter(|e| e["subject"] == id && e["type"] == "call.ended")
        .count()
}

#[test]
fn ha_a_call_handed_to_a_person_stays_bridged_through_a_sigkill() {
    let redis = RedisServer::start().expect("redis-server starts");
    let (mut rig, b, _) = pair_in(&redis, transfer_setup(), "500ms");
    // The caller speaks after the takeover (for the person's recording),
    // then hangs up.
    let said = utterance(
        &rig.ast,
        "after-takeover-to-person",
        Duration::from_secs(11),
        Duration::from_secs(2),
        Duration::from_secs(14),
    );
    let call = rig
        .ast
        .call(Caller::hangup_mid(DID, &said, Duration::from_secs(15)))
        .unwrap();
    let id = rig.gw.nth_call(0, T);
    until_active(&rig, &id);
    transfer(&rig, &id, PERSON, "attended");
    let ended = rig.gw.until_type("call.ended", Some(&id), T);
    assert_eq!(ended["data"]["reason"], "transferred", "{ended}");
    let (inbound, person) = (call.inbound_id(), format!("vg-h-{id}"));
    assert!(
        wait_until(T, || bridged(&rig.ast, &inbound, &person)),
        "caller and person bridged"
    );

    rig.gw.kill();
    assert!(wait_until(T, || active(&b)), "the standby never took over");
    let watching = wait_until(T, || {
        b.log()
            .iter()
            .any(|l| l.contains("watching a call handed to a person"))
    });
    assert!(watching, "the new holder watches the handed-over call");
    assert!(
        bridged(&rig.ast, &inbound, &person),
        "still bridged after the takeover: nothing hung up"
    );

    // The caller hangs up: the new holder hangs the person up and clears the bridge.
    call.wait_ended(T).unwrap();
    rig.assert_asterisk_empty();
    let heard = person_heard(&rig.ast);
    let spans = sentences(&heard);
    eprintln!("the person heard {:?}", secs(&spans));
    assert!(
        spans
            .iter()
            .any(|(start, end)| *end - *start > Duration::from_millis(1500)),
        "the person heard the caller's 2 s after the takeover: {:?}",
        secs(&spans)
    );
    assert_eq!(
        ended_count(&rig.gw, &id) + ended_count(&b, &id),
        1,
        "one call.ended"
    );
    rig.gw = b;
    rig.finish();
}

/// The active instance SIGKILLed while the person of an attended transfer
/// is being rung (their phone rings 6 s): the caller is not dropped. The
/// standby takes the call over still waiting for that person, who answers
/// after the takeover and is connected to the caller by the standby; the
/// call ends once (`transferred`, from the standby), and the new holder
/// hangs the person up when the caller leaves.
#[test]
fn ha_a_transfer_ringing_at_a_sigkill_is_connected_by_the_standby() {
    let redis = RedisServer::start().expect("redis-server starts");
    let (mut rig, b, _) = pair_in_timed(&redis, transfer_setup_ringing("20s"), LEASE_TTL, RENEW);
    // The caller speaks once the person is on (for the person's
    // recording), then hangs up.
    let said = utterance(
        &rig.ast,
        "to-late-person",
        Duration::from_secs(14),
        Duration::from_secs(2),
        Duration::from_secs(17),
    );
    let call = rig
        .ast
        .call(Caller::hangup_mid(DID, &said, Duration::from_secs(19)))
        .unwrap();
    let id = rig.gw.nth_call(0, T);
    until_active(&rig, &id);
    transfer(&rig, &id, PERSON_LATE, "attended");
    let mut record = Value::Null;
    let transferring = wait_until(T, || {
        record = b.call_record(&id);
        record["state"] == "transferring"
    });
    assert!(transferring, "{record}");
    let a_events = rig.gw.events();
    rig.gw.kill();
    assert!(wait_until(T, || active(&b)), "the standby never took over");
    let transferred = b.until_type("call.transferred", Some(&id), T);
    assert_eq!(transferred["data"]["target"], PERSON_LATE, "{transferred}");
    let ended = b.until_type("call.ended", Some(&id), T);
    assert_eq!(ended["data"]["reason"], "transferred", "{ended}");
    let (inbound, person) = (call.inbound_id(), format!("vg-h-{id}"));
    assert!(
        wait_until(T, || bridged(&rig.ast, &inbound, &person)),
        "caller and person bridged by the standby"
    );
    call.wait_ended(T).unwrap();
    rig.assert_asterisk_empty();
    let heard = person_heard(&rig.ast);
    let spans = sentences(&heard);
    eprintln!(
        "the person, answering after the takeover, heard {:?}",
        secs(&spans)
    );
    assert!(
        spans
            .iter()
            .any(|(start, end)| *end - *start > Duration::from_millis(1500)),
        "the person heard the caller's 2 s: {:?}",
        secs(&spans)
    );
    let ends = (a_events.iter().chain(&b.events()))
        .filter(|e| e["subject"] == id.as_str() && e["type"] == "call.ended")
        .count();
    assert_eq!(ends, 1, "one call.ended");
    rig.gw = b;
    rig.finish();
}
