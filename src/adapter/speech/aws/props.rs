//! Property tests of every AWS message parser: arbitrary input never panics,
//! and what the encoder writes the decoder reads back.

use proptest::prelude::*;

use super::config::error_text;
use super::credentials::from_profile;
use super::eventstream::{Decoder, Message, Value, decode_headers};
use super::sigv4::Authorization;
use super::transcript;

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        ".{0,40}".prop_map(Value::String),
        proptest::collection::vec(any::<u8>(), 0..64).prop_map(Value::Bytes),
        any::<i64>().prop_map(Value::Timestamp),
    ]
}

fn message() -> impl Strategy<Value = Message> {
    (
        proptest::collection::vec(("[:a-z-]{1,30}", value()), 0..6),
        proptest::collection::vec(any::<u8>(), 0..512),
    )
        .prop_map(|(headers, payload)| Message { headers, payload })
}

proptest! {
    #[test]
    fn the_decoder_never_panics(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..8)) {
        let mut d = Decoder::default();
        for c in chunks {
            d.push(&c);
            while let Ok(Some(_)) = d.next_message() {}
        }
    }

    #[test]
    fn a_valid_prelude_with_arbitrary_rest_never_panics(total in 0u32..300, headers in 0u32..300, rest in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut bytes = total.to_be_bytes().to_vec();
        bytes.extend(headers.to_be_bytes());
        let crc = crc32fast::hash(&bytes);
        bytes.extend(crc.to_be_bytes());
        bytes.extend(rest);
        let mut d = Decoder::default();
        d.push(&bytes);
        let _ = d.next_message();
    }

    #[test]
    fn header_blocks_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = decode_headers(&bytes);
    }

    #[test]
    fn messages_round_trip(m in message(), split in 0usize..2000) {
        let bytes = m.encode();
        let split = split.min(bytes.len());
        let mut d = Decoder::default();
        d.push(&bytes[..split]);
        let first = d.next_message().unwrap();
        d.push(&bytes[split..]);
        let got = match first { Some(got) => got, None => d.next_message().unwrap().unwrap() };
        prop_assert_eq!(got, m);
    }

    #[test]
    fn transcript_parsing_never_panics(m in message(), kind in prop_oneof![Just("event".to_owned()), Just("exception".to_owned()), Just("error".to_owned()), ".{0,8}"], json in ".{0,200}") {
        let mut m = m;
        m.headers.push((":message-type".into(), Value::String(kind)));
        m.headers.push((":event-type".into(), Value::String("TranscriptEvent".into())));
        let _ = transcript::parse(&m);
        m.payload = json.into_bytes();
        let _ = transcript::parse(&m);
    }

    #[test]
    fn transcript_json_of_any_numbers_never_panics(start in any::<f64>(), end in any::<f64>(), conf in any::<f64>(), partial in any::<bool>(), text in ".{0,40}") {
        let payload = serde_json::json!({"Transcript": {"Results": [{
            "Alternatives": [{"Transcript": text, "Items": [{"Confidence": conf}]}],
            "StartTime": start, "EndTime": end, "IsPartial": partial}]}});
        let m = Message {
            headers: vec![
                (":message-type".into(), Value::String("event".into())),
                (":event-type".into(), Value::String("TranscriptEvent".into())),
            ],
            payload: payload.to_string().into_bytes(),
        };
        let _ = transcript::parse(&m);
    }

    #[test]
    fn authorization_and_profile_and_error_parsing_never_panic(s in ".{0,300}", status in any::<u16>(), kind in proptest::option::of(".{0,30}")) {
        let _ = Authorization::parse(&s);
        let _ = Authorization::parse(&format!("AWS4-HMAC-SHA256 {s}"));
        let _ = from_profile(&s, "default");
        let _ = error_text(status, kind.as_deref(), s.as_bytes());
    }
}
