//! Property tests of the stream-input parser and the audio-to-piece
//! attribution: hostile input is an error, never a panic, and audio is never
//! attributed to a piece that was not sent.

use super::messages::{Pieces, parse};
use proptest::prelude::*;

fn near_valid() -> impl Strategy<Value = String> {
    let audio = prop_oneof![
        Just("\"AAAA\"".to_owned()),
        Just("\"not base64!\"".to_owned()),
        Just("null".to_owned()),
        Just("42".to_owned()),
    ];
    let chars = prop::collection::vec(".{0,2}", 0..8)
        .prop_map(|c| serde_json::to_string(&c).unwrap_or_default());
    let extra = prop_oneof![
        Just(String::new()),
        Just(r#","error":"quota exceeded""#.to_owned()),
        Just(r#","message":null"#.to_owned()),
        Just(r#","message":{"detail":1}"#.to_owned()),
    ];
    (audio, chars, any::<bool>(), extra).prop_map(|(audio, chars, fin, extra)| {
        format!(r#"{{"audio":{audio},"alignment":{{"chars":{chars}}},"isFinal":{fin}{extra}}}"#)
    })
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in ".{0,200}") {
        let _ = parse(&text);
    }

    #[test]
    fn audio_goes_only_to_pieces_that_were_sent(
        pieces in prop::collection::vec(".{0,30}", 1..6),
        msgs in prop::collection::vec(near_valid(), 0..12),
    ) {
        let mut book = Pieces::default();
        for (i, text) in pieces.iter().enumerate() {
            book.sent(i as u32 + 1, text);
        }
        let sent = 1..=pieces.len() as u32;
        for text in &msgs {
            match parse(text) {
                Ok(reply) => prop_assert!(sent.contains(&book.heard(reply.chars))),
                Err(Ok(said) | Err(said)) => prop_assert!(!said.is_empty(), "{text}"),
            }
        }
    }
}
