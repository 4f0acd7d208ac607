//! A real SIP phone (baresip over chan_sip) calling the gateway.

use crate::{
    audio::{secs, sentences, utterance},
    calls::{DID, T},
    rig::Rig,
};
use std::time::Duration;
use vg_testkit::SipPhone;

/// The phone dials the DID, hears the greeting, says something, hears the
/// answer, and hangs up when its microphone file ends.
#[test]
fn a_sip_phone_talks_to_the_agent_end_to_end() {
    let rig = Rig::start();
    let speech_at = Duration::from_secs(6);
    let mic = utterance(
        &rig.ast,
        "sip-mic",
        speech_at,
        Duration::from_millis(1200),
        Duration::from_secs(6),
    );
    let phone = SipPhone::start(&rig.ast, &mic).unwrap();
    phone.dial(DID).unwrap();
    let id = rig.gw.nth_call(0, T);
    let started = rig.gw.until_type("call.started", Some(&id), T);
    assert!(
        started["data"]["channel_id"]
            .as_str()
            .is_some_and(|c| !c.is_empty()),
        "{started}"
    );
    let heard_said = rig.gw.until_type("stt.transcribed", Some(&id), T);
    assert_eq!(heard_said["data"]["text"], "utterance 1");
    // baresip hangs up when its file ends.
    let ended = rig.gw.until_type("call.ended", Some(&id), T);
    assert_eq!(ended["data"]["reason"], "caller_hangup", "{ended}");
    let heard = phone.heard(T).unwrap();
    let spans = sentences(&heard);
    assert!(
        spans
            .first()
            .is_some_and(|(s, _)| *s < Duration::from_secs(1)),
        "the phone heard the greeting first: {:?}",
        secs(&spans)
    );
    // The phone records only the packets it gets, and Asterisk sends it none
    // while the agent is silent: the greeting and the answer follow each other
    // in its file. Together they are all the agent said.
    let spoken = rig.gw.spoken_ms(&id);
    let sound: Duration = spans.iter().map(|(s, e)| *e - *s).sum();
    assert!(
        rig.gw
            .types_of(&id)
            .iter()
            .filter(|t| *t == "tts.generated")
            .count()
            >= 2
            && sound + Duration::from_millis(400) >= Duration::from_millis(spoken),
        "the agent said {spoken} ms (greeting and answer); the phone heard {:?}",
        secs(&spans)
    );
    rig.finish();
}
