//! Property tests of the OpenAI STT parsers: whatever a (broken or hostile)
//! server sends, realtime events, REST answers and error bodies parse to a
//! value or an error, never a panic.

use super::realtime::{ServerEvent, iso_639_1, parse, parse_rest, parse_rest_error};
use proptest::prelude::*;

/// JSON values a server might put where a string belongs.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,16}".prop_map(|s| serde_json::to_string(&s).unwrap_or_default()),
        any::<f64>().prop_map(|f| if f.is_finite() {
            f.to_string()
        } else {
            "1e308".into()
        }),
        Just("null".to_owned()),
        Just("{}".to_owned()),
        Just("[1,\"a\"]".to_owned()),
        Just("true".to_owned()),
    ]
}

/// Events shaped like the server's, every field possibly wrong.
fn near_valid() -> impl Strategy<Value = String> {
    let kind = prop_oneof![
        Just("transcription_session.created"),
        Just("transcription_session.updated"),
        Just("input_audio_buffer.committed"),
        Just("conversation.item.input_audio_transcription.delta"),
        Just("conversation.item.input_audio_transcription.completed"),
        Just("conversation.item.input_audio_transcription.failed"),
        Just("conversation.item.input_audio_transcription.other"),
        Just("error"),
        Just("rate_limits.updated"),
    ];
    (kind, value(), value(), value(), value()).prop_map(|(kind, id, text, code, message)| {
        format!(
            r#"{{"type":"{kind}","item_id":{id},"delta":{text},"transcript":{text},
            "error":{{"type":{code},"code":{code},"message":{message}}},
            "rate_limits":[{{"name":{id},"limit":{code}}}]}}"#
        )
    })
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in ".{0,300}") {
        let _ = parse(&text);
        let _ = parse_rest(&text);
        let _ = parse_rest_error(&text);
        let _ = iso_639_1(&text);
    }

    #[test]
    fn near_valid_events_parse_or_fail_with_a_reason(text in near_valid()) {
        match parse(&text) {
            Ok(ServerEvent::Error(e) | ServerEvent::Failed { error: e, .. }) => {
                // Classification and display never panic, and never both.
                prop_assert!(!(e.is_rate_limit() && e.is_refusal()));
                prop_assert!(!e.to_string().is_empty());
            }
            Ok(ServerEvent::Completed { transcript, .. }) => {
                prop_assert_eq!(transcript.trim(), transcript.as_str());
            }
            Ok(_) => {}
            Err(why) => prop_assert!(!why.is_empty()),
        }
    }

    #[test]
    fn rest_answers_parse_or_fail_with_a_reason(text in value(), code in value()) {
        let body = format!(r#"{{"text":{text},"error":{{"code":{code},"message":{text}}}}}"#);
        match parse_rest(&body) {
            Ok(t) => prop_assert_eq!(t.trim(), t.as_str()),
            Err(why) => prop_assert!(!why.is_empty()),
        }
        let _ = parse_rest_error(&body).map(|e| e.to_string());
    }

    #[test]
    fn language_codes_are_two_lowercase_letters(tag in "[a-zA-Z_-]{0,12}") {
        if let Some(code) = iso_639_1(&tag) {
            prop_assert!(code.len() == 2 && code.chars().all(|c| c.is_ascii_lowercase()));
        }
    }
}

/// What a session does to its pending utterances, in any order a broken or
/// hostile server could make happen.
#[derive(Debug, Clone)]
enum Op {
    /// `finish()`: committed, or too short and answered empty.
    Finish {
        short: bool,
    },
    /// `committed` naming `item_{n}`.
    Committed(u8),
    Delta(u8, String),
    Completed(u8, String),
    Expire,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        any::<bool>().prop_map(|short| Op::Finish { short }),
        (0u8..6).prop_map(Op::Committed),
        (0u8..6, ".{0,6}").prop_map(|(n, t)| Op::Delta(n, t)),
        (0u8..6, ".{0,6}").prop_map(|(n, t)| Op::Completed(n, t)),
        Just(Op::Expire),
    ]
}

proptest! {
    /// Whatever arrives, `Final`s come one per `finish()` at most, in the
    /// order of the utterances; and once every committed item completes or
    /// times out (a server repeating an id leaves the second to its
    /// deadline), every `finish()` has had its `Final`.
    #[test]
    fn every_finish_gets_one_final_in_order(ops in prop::collection::vec(op(), 0..40)) {
        use super::items::{Item, Items};
        use crate::application::ports::speech::SttEvent;
        use std::time::Duration;
        use tokio::time::Instant;

        let mut items = Items::default();
        let far = Instant::now() + Duration::from_secs(3600);
        let (mut finishes, mut finals, mut named) = (0u64, Vec::new(), Vec::new());
        for op in ops {
            match op {
                Op::Finish { short } => {
                    let at = Duration::from_millis(finishes * 100);
                    let span = (at, at + Duration::from_millis(100));
                    items.push(if short { Item::empty(span) } else { Item::committed(Vec::new(), span, far) });
                    finishes += 1;
                }
                Op::Committed(n) => {
                    items.committed(format!("item_{n}"));
                    named.push(n);
                }
                Op::Delta(n, t) => {
                    if let Some(SttEvent::Interim { text, .. }) = items.delta(&format!("item_{n}"), &t) {
                        prop_assert!(!text.is_empty());
                    }
                }
                Op::Completed(n, t) => items.completed(&format!("item_{n}"), t),
                Op::Expire => { items.expire(far); }
            }
            finals.extend(items.settle());
        }
        prop_assert!(finals.len() as u64 <= finishes);
        let starts: Vec<Duration> = finals.iter().map(|f| match f {
            SttEvent::Final { start, .. } => *start,
            other => panic!("not a final: {other:?}"),
        }).collect();
        prop_assert!(starts.windows(2).all(|w| w[0] < w[1]), "{starts:?}");
        // Name every remaining commit, complete everything: all answered.
        for n in 100u8..140 {
            items.committed(format!("item_{n}"));
            items.completed(&format!("item_{n}"), String::new());
        }
        for n in named {
            items.completed(&format!("item_{n}"), String::new());
        }
        items.expire(far);
        finals.extend(items.settle());
        prop_assert_eq!(finals.len() as u64, finishes);
        prop_assert!(items.deadline().is_none());
    }
}
