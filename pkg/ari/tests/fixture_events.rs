//! Every event Asterisk 20.20.1 sent in the recorded fixtures decodes into a typed
//! variant and serialises back to the same JSON.

// Tests read the clock to make their inputs and to measure.
#![allow(clippy::disallowed_methods)]

mod common;

use std::collections::BTreeSet;

use serde_json::{Value, json};
use vg_ari::events::{ChannelHangupRequest, DialStatus, KNOWN_EVENT_TYPES};
use vg_ari::{ChannelState, DecodeError, Event, HangupCause, PlaybackState, decode_event};

/// Event types present in the fixtures that we deliberately leave as `Unknown`.
/// Empty: every recorded type is modelled. Keep this list explicit if that changes.
const DELIBERATELY_UNKNOWN: &[&str] = &[];

#[test]
fn every_fixture_event_decodes_into_a_known_variant_and_round_trips() {
    let events = common::fixture_events();
    assert!(events.len() > 1000, "only {} events found", events.len());
    let mut types = BTreeSet::new();
    for (file, raw) in &events {
        let text = serde_json::to_string(raw).unwrap();
        let event = decode_event(&text).unwrap_or_else(|e| panic!("{file}: {e}\n{text}"));
        types.insert(event.type_name().to_owned());
        if let Event::Unknown { event_type, .. } = &event {
            assert!(
                DELIBERATELY_UNKNOWN.contains(&event_type.as_str()),
                "{file}: {event_type} decoded as Unknown"
            );
            continue;
        }
        assert!(event.common().is_some());
        // Serialising back gives exactly what Asterisk sent: no field is dropped or
        // invented, which is what the simulator relies on.
        assert_eq!(
            &event.to_json(),
            raw,
            "{file}: round trip changed the event"
        );
    }
    // The fixtures cover the events the gateway depends on.
    for needed in [
        "StasisStart",
        "StasisEnd",
        "ChannelDestroyed",
        "ChannelHangupRequest",
        "ChannelDtmfReceived",
        "Dial",
        "PlaybackFinished",
        "ApplicationReplaced",
    ] {
        assert!(types.contains(needed), "no {needed} in the fixtures");
    }
    for t in &types {
        assert!(KNOWN_EVENT_TYPES.contains(&t.as_str()), "{t} not typed");
    }
}

fn events_of(event_type: &str) -> Vec<Event> {
    common::fixture_events()
        .into_iter()
        .filter(|(_, e)| e["type"] == event_type)
        .map(|(_, e)| vg_ari::decode_event_value(e).unwrap())
        .collect()
}

#[test]
fn soft_hangup_request_cause_is_not_a_q850_cause() {
    let requests: Vec<ChannelHangupRequest> = events_of("ChannelHangupRequest")
        .into_iter()
        .map(|e| match e {
            Event::ChannelHangupRequest(r) => r,
            other => panic!("{other:?}"),
        })
        .collect();
    let soft_32 = requests
        .iter()
        .find(|r| r.is_soft() && r.cause == Some(32))
        .expect("an ARI DELETE soft hangup (fixture 01)");
    assert_eq!(soft_32.q850_cause(), None);
    let bye = requests
        .iter()
        .find(|r| r.cause.is_none())
        .expect("a SIP BYE without cause (fixture 09)");
    assert_eq!(bye.q850_cause(), None);
    assert!(!bye.is_soft());
    let hard = requests
        .iter()
        .find(|r| !r.is_soft() && r.cause == Some(16))
        .expect("a far-end hangup with cause 16");
    assert_eq!(hard.q850_cause(), Some(HangupCause::NORMAL_CLEARING));
}

#[test]
fn originate_failures_show_in_dial_status_and_destroyed_cause() {
    let statuses: BTreeSet<String> = events_of("Dial")
        .iter()
        .map(|e| match e {
            Event::Dial(d) => d.dialstatus.as_str().to_owned(),
            other => panic!("{other:?}"),
        })
        .collect();
    for s in ["", "RINGING", "ANSWER", "BUSY", "CONGESTION", "NOANSWER"] {
        assert!(statuses.contains(s), "no Dial {s:?}");
    }
    assert!(DialStatus::from("BUSY").is_failure());
    assert!(!DialStatus::from("").is_failure());
    assert_eq!(
        DialStatus::from("SOMETHINGNEW"),
        DialStatus::Other("SOMETHINGNEW".into())
    );
    let causes: BTreeSet<i32> = events_of("ChannelDestroyed")
        .iter()
        .map(|e| match e {
            Event::ChannelDestroyed(d) => d.cause.0,
            other => panic!("{other:?}"),
        })
        .collect();
    assert!(causes.is_superset(&BTreeSet::from([0, 16, 17, 19, 21, 34])));
}

#[test]
fn per_channel_routing_accessors() {
    let start = events_of("StasisStart").remove(0);
    let ch = start.channel().expect("channel");
    assert_eq!(start.channel_id(), Some(&ch.id));
    assert_eq!(ch.state, ChannelState::Ring);
    let Event::StasisStart(s) = &start else {
        unreachable!()
    };
    assert_eq!(s.args, vec!["+15551234567".to_owned()]);
    assert_eq!(s.channel.dialplan.exten, "+15551234567");

    let dial = events_of("Dial").remove(0);
    let Event::Dial(d) = &dial else {
        unreachable!()
    };
    assert_eq!(dial.channel_id(), Some(&d.peer.id));

    let entered = events_of("ChannelEnteredBridge").remove(0);
    assert!(entered.bridge().is_some());

    let finished = events_of("PlaybackFinished");
    assert!(finished.iter().any(|e| matches!(e,
        Event::PlaybackFinished(p) if p.playback.state == PlaybackState::Failed)));
    let Event::PlaybackFinished(p) = &finished[0] else {
        unreachable!()
    };
    assert!(matches!(
        p.playback.target(),
        vg_ari::PlaybackTarget::Channel(_)
    ));
}

#[test]
fn unknown_type_keeps_raw_json() {
    let raw = json!({"type": "SomethingAsterisk30Adds", "application": "a", "x": [1, 2]});
    let event = decode_event(&raw.to_string()).unwrap();
    assert_eq!(
        event,
        Event::Unknown {
            event_type: "SomethingAsterisk30Adds".into(),
            raw: raw.clone()
        }
    );
    assert_eq!(event.to_json(), raw);
    assert_eq!(event.channel(), None);
    // A real Asterisk type we do not model stays Unknown too.
    let bat = json!({"type": "BridgeAttendedTransfer", "application": "a", "timestamp": "t"});
    assert!(matches!(
        decode_event(&bat.to_string()).unwrap(),
        Event::Unknown { .. }
    ));
}

#[test]
fn malformed_known_event_is_an_error_value_with_a_path() {
    let (_, mut raw) = common::fixture_events()
        .into_iter()
        .find(|(_, e)| e["type"] == "ChannelDtmfReceived")
        .unwrap();
    raw["duration_ms"] = json!("long");
    match decode_event(&raw.to_string()) {
        Err(DecodeError::Malformed {
            event_type, path, ..
        }) => {
            assert_eq!(event_type, "ChannelDtmfReceived");
            assert_eq!(path, "duration_ms");
        }
        other => panic!("{other:?}"),
    }
    raw["duration_ms"] = json!(100);
    raw["channel"]["caller"] = json!(7);
    assert!(matches!(
        decode_event(&raw.to_string()),
        Err(DecodeError::Malformed { path, .. }) if path == "channel.caller"
    ));
    assert!(matches!(
        decode_event("{not json"),
        Err(DecodeError::NotJson(_))
    ));
    assert_eq!(decode_event("[1]"), Err(DecodeError::MissingType));
    assert_eq!(
        decode_event(r#"{"type": 5}"#),
        Err(DecodeError::MissingType)
    );
}

#[test]
fn unknown_enum_values_are_kept_not_rejected() {
    let (_, mut raw) = common::fixture_events()
        .into_iter()
        .find(|(_, e)| e["type"] == "ChannelStateChange")
        .unwrap();
    raw["channel"]["state"] = Value::String("Hyperspace".into());
    let Event::ChannelStateChange(e) = decode_event(&raw.to_string()).unwrap() else {
        panic!()
    };
    assert_eq!(e.channel.state, ChannelState::Other("Hyperspace".into()));
    assert_eq!(
        ChannelState::from("Dialing Offhook"),
        ChannelState::DialingOffhook
    );
    assert_eq!(ChannelState::Unknown.as_str(), "Unknown");
}
