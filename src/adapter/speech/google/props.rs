//! Property tests of the Google message parsers: arbitrary input never panics.

use std::time::Duration;

use proptest::prelude::*;
use prost::Message;

use super::auth::{ServiceAccountKey, parse_token};
use super::proto::StreamingRecognizeResponse;
use super::results::Utterance;

proptest! {
    #[test]
    fn arbitrary_bytes_as_a_recognize_response_never_panic(
        frames in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..256), 1..8),
        base_ms in any::<u32>(),
    ) {
        let mut u = Utterance::default();
        for bytes in frames {
            if let Ok(r) = StreamingRecognizeResponse::decode(bytes.as_slice()) {
                let _ = u.on_response(&r, Duration::from_millis(base_ms.into()), true);
            }
        }
        let _ = u.take(Duration::MAX);
    }

    #[test]
    fn arbitrary_token_responses_never_panic(body in ".{0,200}") {
        let _ = parse_token(&body);
    }

    #[test]
    fn arbitrary_json_token_responses_never_panic(
        token in proptest::option::of(".{0,20}"),
        expires in proptest::option::of(any::<i64>()),
        kind in proptest::option::of("[a-zA-Z]{0,8}"),
    ) {
        let body = serde_json::json!({"access_token": token, "expires_in": expires, "token_type": kind});
        let _ = parse_token(&body.to_string());
    }

    #[test]
    fn arbitrary_key_files_never_panic(text in ".{0,300}") {
        let _ = ServiceAccountKey::parse(&text);
    }
}

#[test]
fn out_of_range_offsets_saturate() {
    use super::proto::{
        Duration as PDuration, SpeechRecognitionAlternative, StreamingRecognitionResult,
    };
    let r = StreamingRecognizeResponse {
        results: vec![StreamingRecognitionResult {
            alternatives: vec![SpeechRecognitionAlternative {
                transcript: "x".into(),
                confidence: 7.0,
            }],
            is_final: true,
            stability: 0.0,
            result_end_offset: Some(PDuration {
                seconds: i64::MAX,
                nanos: -1,
            }),
        }],
        speech_event_type: 99,
        speech_event_offset: Some(PDuration {
            seconds: -5,
            nanos: 2_000_000_000,
        }),
    };
    let mut u = Utterance::default();
    let _ = u.on_response(&r, Duration::MAX, true);
    let _ = u.take(Duration::ZERO);
}

proptest! {
    #[test]
    fn arbitrary_synthesis_answers_never_panic(body in ".{0,200}") {
        let _ = super::tts::parse_synthesis(&body);
    }

    #[test]
    fn arbitrary_wav_bytes_never_panic(mut bytes in proptest::collection::vec(any::<u8>(), 0..128), riff in any::<bool>()) {
        if riff && bytes.len() >= 12 {
            bytes[..4].copy_from_slice(b"RIFF");
            bytes[8..12].copy_from_slice(b"WAVE");
        }
        if let Ok(data) = super::tts::strip_wav(&bytes) {
            prop_assert!(data.len() <= bytes.len());
        }
    }
}
