//! Property tests of the `/v1/listen` parser and utterance assembly: whatever
//! a (broken or hostile) server sends, we answer with a value or an error,
//! never a panic, and times never run backwards.

use super::listen::{Message, Utterance, parse};
use crate::application::ports::speech::SttEvent;
use proptest::prelude::*;

/// JSON numbers as a server might send them, including absurd ones.
fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<f64>().prop_map(|f| if f.is_finite() {
            f.to_string()
        } else {
            "1e308".into()
        }),
        Just("1e19".to_owned()),
        Just("-1".to_owned()),
        Just("null".to_owned()),
        Just("\"3\"".to_owned()),
    ]
}

/// Messages shaped like the server's, with every field possibly wrong.
fn near_valid() -> impl Strategy<Value = String> {
    let kind = prop_oneof![
        Just("Results"),
        Just("SpeechStarted"),
        Just("UtteranceEnd"),
        Just("Metadata"),
        Just("Error"),
        Just("Bogus"),
    ];
    (
        kind,
        number(),
        number(),
        any::<bool>(),
        any::<bool>(),
        ".{0,12}",
    )
        .prop_map(|(kind, start, duration, is_final, speech_final, words)| {
            let words = serde_json::to_string(&words).unwrap_or_default();
            format!(
                r#"{{"type":"{kind}","start":{start},"duration":{duration},"timestamp":{start},
                "is_final":{is_final},"speech_final":{speech_final},
                "channel":{{"alternatives":[{{"transcript":{words},"confidence":{duration}}}]}},
                "description":{words}}}"#
            )
        })
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in ".{0,200}") {
        let _ = parse(&text);
    }

    #[test]
    fn near_valid_sequences_assemble_without_panic(
        msgs in prop::collection::vec(near_valid(), 1..12),
    ) {
        let mut utterance = Utterance::default();
        for text in &msgs {
            match parse(text) {
                Ok(Message::Results(r)) => {
                    prop_assert!(r.end >= r.start, "end before start in {text}");
                    if let Some(SttEvent::Final { start, end, .. }) =
                        utterance.on_results(r, true, true)
                    {
                        prop_assert!(end >= start, "{text}");
                    }
                }
                Ok(Message::UtteranceEnd) => {
                    let _ = utterance.on_utterance_end(std::time::Duration::ZERO);
                }
                Ok(_) => {}
                Err(why) => prop_assert!(!why.is_empty()),
            }
        }
    }
}
