//! Property tests of every Azure message parser: whatever a (broken or
//! hostile) peer sends, we answer with a value or an error, never a panic,
//! and times never run backwards.

use std::time::Duration;

use proptest::prelude::*;

use super::messages::{Phrase, ServerMessage, Turn, parse};
use super::tts::escape;
use super::wire;
use crate::application::ports::speech::SttEvent;

fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<u64>().prop_map(|n| n.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        Just("1e308".to_owned()),
        Just("null".to_owned()),
        Just("\"3\"".to_owned()),
    ]
}

/// Messages shaped like the service's, with every field possibly wrong.
fn near_valid() -> impl Strategy<Value = String> {
    let path = prop_oneof![
        Just("turn.start"),
        Just("speech.startDetected"),
        Just("speech.hypothesis"),
        Just("speech.phrase"),
        Just("speech.endDetected"),
        Just("turn.end"),
        Just("bogus"),
    ];
    let status = prop_oneof![
        Just("Success"),
        Just("NoMatch"),
        Just("Error"),
        Just("InitialSilenceTimeout"),
        Just("Weird"),
    ];
    (path, status, number(), number(), ".{0,12}", any::<bool>()).prop_map(
        |(path, status, offset, duration, words, detailed)| {
            let words = serde_json::to_string(&words).unwrap_or_default();
            let best = if detailed {
                format!(r#","NBest":[{{"Display":{words},"Confidence":{duration}}}]"#)
            } else {
                format!(r#","DisplayText":{words}"#)
            };
            format!(
                "X-RequestId: AB\r\nPath: {path}\r\n\r\n{{\"RecognitionStatus\":\"{status}\",\
                 \"Offset\":{offset},\"Duration\":{duration},\"Text\":{words}{best}}}"
            )
        },
    )
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in ".{0,200}") {
        let _ = parse(&text);
        let _ = wire::parse_text(&text);
    }

    #[test]
    fn arbitrary_headers_and_bodies_never_panic(
        headers in "([A-Za-z-]{0,8}: ?.{0,10}\r\n){0,4}", body in ".{0,40}",
    ) {
        let _ = parse(&format!("{headers}\r\n{body}"));
    }

    #[test]
    fn arbitrary_binary_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = wire::parse_binary(&bytes);
        let _ = wire::parse_wav_header(&bytes);
    }

    #[test]
    fn binary_messages_round_trip(
        path in "[a-z.]{1,12}", body in prop::collection::vec(any::<u8>(), 0..100),
    ) {
        let bin = wire::encode_binary(&[("Path", &path)], &body).unwrap();
        let frame = wire::parse_binary(&bin).unwrap();
        prop_assert_eq!(frame.header("path"), Some(path.as_str()));
        prop_assert_eq!(frame.body, body);
    }

    #[test]
    fn near_valid_sequences_assemble_without_panic(
        msgs in prop::collection::vec(near_valid(), 1..12), base in any::<u64>(),
    ) {
        let base = Duration::from_nanos(base);
        let mut turn = Turn::default();
        for text in &msgs {
            match parse(text) {
                Ok((_, ServerMessage::Hypothesis(h))) => {
                    prop_assert!(h.end >= h.start);
                    if let Some(SttEvent::Interim { start, end, .. }) = turn.interim(h, base) {
                        prop_assert!(end >= start, "{text}");
                    }
                }
                Ok((_, ServerMessage::Phrase(Phrase::Words { heard, confidence }))) => {
                    prop_assert!(heard.end >= heard.start);
                    turn.add(heard, confidence, base);
                }
                Ok((_, ServerMessage::TurnEnd)) => {
                    if let SttEvent::Final { start, end, .. } = turn.take(base) {
                        prop_assert!(end >= start, "{text}");
                    }
                }
                Ok(_) => {}
                Err(why) => prop_assert!(!why.is_empty()),
            }
        }
    }

    #[test]
    fn escaped_text_holds_no_markup(text in ".{0,80}") {
        let escaped = escape(&text);
        prop_assert!(!escaped.contains(['<', '>', '"', '\'']));
        // Every `&` starts an entity.
        for (i, _) in escaped.match_indices('&') {
            let rest = &escaped[i..];
            prop_assert!(
                ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"].iter().any(|e| rest.starts_with(e)),
                "{escaped}"
            );
        }
    }
}
