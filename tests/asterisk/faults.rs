//! Faults between the gateway and a real Asterisk.

use crate::{
    audio::{secs, sentences, utterance},
    calls::{DID, T},
    rig::{Rig, Setup},
};
use std::time::Duration;
use vg_testkit::{Caller, wait_until};

/// The events socket drops mid-call (cut between gateway and Asterisk): the
/// call goes on, its next turn is answered, and its hangup, seen after the
/// reconnect, ends it cleanly.
#[test]
fn the_events_socket_dropped_mid_call_and_the_call_goes_on() {
    let rig = Rig::start_with(Setup {
        relay: true,
        ..Setup::default()
    });
    let speech_at = Duration::from_secs(8);
    let said = utterance(
        &rig.ast,
        "after-drop",
        speech_at,
        Duration::from_millis(1200),
        Duration::from_secs(10),
    );
    let call = rig.ast.call(Caller::play(DID, &said)).unwrap();
    let id = rig.gw.nth_call(0, T);
    rig.gw.until_type("tts.generated", Some(&id), T);
    let connected = |rig: &Rig| {
        rig.gw
            .log()
            .iter()
            .filter(|l| l.contains("ARI events socket connected"))
            .count()
    };
    // The first connect may be logged before the start line, which the rig
    // reads past; count from what is kept.
    let before = connected(&rig);
    let cut = rig.relay.as_ref().unwrap().cut();
    assert!(cut >= 1, "the events socket went through the relay");
    assert!(
        wait_until(T, || connected(&rig) > before),
        "the gateway did not reconnect: {:?}",
        rig.gw.log().iter().rev().take(8).collect::<Vec<_>>()
    );
    // The caller's turn, spoken after the drop, is heard and answered.
    rig.gw.until_type("stt.transcribed", Some(&id), T);
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
    assert_eq!(ended["data"]["reason"], "caller_hangup", "{ended}");
    let heard = call.heard(T).unwrap();
    let spans = sentences(&heard);
    assert!(
        spans.iter().any(|(start, _)| *start > speech_at),
        "the answer after the drop reached the caller: {:?}",
        secs(&spans)
    );
    rig.finish();
}
