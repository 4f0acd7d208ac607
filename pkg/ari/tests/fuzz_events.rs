//! The event decoder never panics: arbitrary text, arbitrary JSON, and recorded events
//! with fields removed or replaced by arbitrary values all give `Ok` or `Err`.

// Tests read the clock to make their inputs and to measure.
#![allow(clippy::disallowed_methods)]

mod common;

use proptest::prelude::*;
use serde_json::{Map, Value};
use vg_ari::events::KNOWN_EVENT_TYPES;
use vg_ari::{Event, decode_event, decode_event_value};

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
        prop::sample::select(KNOWN_EVENT_TYPES).prop_map(|t| Value::String(t.to_owned())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("type".to_owned()),
                    Just("channel".to_owned()),
                    Just("bridge".to_owned()),
                    Just("playback".to_owned()),
                    Just("state".to_owned()),
                    "[a-z_]{1,8}",
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A recorded event with one mutation applied at a pseudo-random place.
fn mutate(mut event: Value, pick: usize, replacement: Value, delete: bool) -> Value {
    // Every key path in the event, so one can be picked and edited in place.
    fn paths(v: &Value, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
        if let Value::Object(m) = v {
            for (k, child) in m {
                let mut p = prefix.clone();
                p.push(k.clone());
                out.push(p.clone());
                paths(child, p, out);
            }
        }
    }
    let mut all = Vec::new();
    paths(&event, Vec::new(), &mut all);
    if all.is_empty() {
        return event;
    }
    let path = &all[pick % all.len()];
    let (last, parents) = path.split_last().unwrap();
    let mut cur = &mut event;
    for k in parents {
        cur = cur.get_mut(k).unwrap();
    }
    let map = cur.as_object_mut().unwrap();
    if delete {
        map.remove(last);
    } else {
        map.insert(last.clone(), replacement);
    }
    event
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,200}") {
        let _ = decode_event(&text);
    }

    #[test]
    fn arbitrary_json_never_panics(value in arb_json()) {
        let text = value.to_string();
        let decoded = decode_event(&text);
        // Anything decoded serialises without panicking, too.
        if let Ok(event) = decoded {
            let _ = event.to_json();
        }
    }

    #[test]
    fn mutated_recorded_events_never_panic(
        index in any::<prop::sample::Index>(),
        pick in any::<usize>(),
        replacement in arb_json(),
        delete in any::<bool>(),
    ) {
        let events = recorded();
        let original = events[index.index(events.len())].clone();
        let mutated = mutate(original, pick, replacement, delete);
        match decode_event_value(mutated.clone()) {
            // A mutation that keeps the event valid still round-trips to a value that
            // decodes again.
            Ok(Event::Unknown { raw, .. }) => prop_assert_eq!(raw, mutated),
            Ok(event) => prop_assert!(decode_event_value(event.to_json()).is_ok()),
            Err(_) => {}
        }
    }
}

fn recorded() -> &'static [Value] {
    static EVENTS: std::sync::OnceLock<Vec<Value>> = std::sync::OnceLock::new();
    EVENTS.get_or_init(|| {
        common::fixture_events()
            .into_iter()
            .map(|(_, e)| e)
            .collect()
    })
}

#[test]
fn deeply_nested_json_is_an_error_not_a_stack_overflow() {
    let text = "[".repeat(100_000);
    assert!(decode_event(&text).is_err());
    let nested = format!(
        "{{\"type\":\"StasisStart\",\"channel\":{}}}",
        "[".repeat(10_000)
    );
    assert!(decode_event(&nested).is_err());
}
