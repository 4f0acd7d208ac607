//! The Google TTS adapter against a local fake of `POST /v1/text:synthesize`.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use tokio::time::timeout;

use super::tts::{parse_synthesis, strip_wav};
use super::*;
use crate::adapter::speech::deepgram::ApiKey;
use crate::application::ports::speech::{
    TextToSpeech, TtsAudio, TtsConfig, TtsError, TtsEvent, TtsOutput, TtsSession,
};

/// What the fake answers to the next request: a status and a body.
type Reply = (u16, String);

#[derive(Clone, Default)]
struct Fake {
    replies: Arc<Mutex<VecDeque<Reply>>>,
    requests: Arc<Mutex<Vec<serde_json::Value>>>,
}

async fn synthesize(
    State(fake): State<Fake>,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, String) {
    if headers.get("x-goog-api-key").and_then(|v| v.to_str().ok()) != Some("g-test") {
        let body =
            r#"{"error":{"code":403,"message":"API key not valid.","status":"PERMISSION_DENIED"}}"#;
        return (StatusCode::FORBIDDEN, body.into());
    }
    fake.requests
        .lock()
        .unwrap()
        .push(serde_json::from_str(&body).unwrap());
    let (status, body) = fake
        .replies
        .lock()
        .unwrap()
        .pop_front()
        .expect("a scripted reply");
    (StatusCode::from_u16(status).unwrap(), body)
}

async fn start(replies: Vec<Reply>, key: &str) -> (Fake, GoogleTts) {
    let fake = Fake::default();
    fake.replies.lock().unwrap().extend(replies);
    let app = axum::Router::new()
        .route("/v1/text:synthesize", axum::routing::post(synthesize))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let config = GoogleConfig {
        tts_endpoint: url,
        voice: Some("en-US-Neural2-F".into()),
        ..GoogleConfig::new(GoogleCredentials::ApiKey(ApiKey::new(key)), "")
    };
    (fake, GoogleTts::new(config).unwrap())
}

/// A WAV file as Google sends it: RIFF header, a `LIST` chunk, then `data`.
fn wav(samples: &[u8]) -> Vec<u8> {
    let mut w = b"RIFF\0\0\0\0WAVEfmt ".to_vec();
    w.extend(16u32.to_le_bytes());
    w.extend([7, 0, 1, 0, 0x40, 0x1f, 0, 0, 0x40, 0x1f, 0, 0, 1, 0, 8, 0]);
    w.extend(b"LIST");
    w.extend(3u32.to_le_bytes());
    w.extend([1, 2, 3, 0]); // odd length, padded
    w.extend(b"data");
    w.extend((samples.len() as u32).to_le_bytes());
    w.extend(samples);
    w
}

fn ok(audio: &[u8]) -> Reply {
    let b64 = base64::engine::general_purpose::STANDARD.encode(audio);
    (200, serde_json::json!({ "audioContent": b64 }).to_string())
}

async fn next(session: &mut TtsSession) -> TtsEvent {
    timeout(Duration::from_secs(10), session.recv())
        .await
        .expect("an event in time")
        .expect("an event")
}

fn config(output: TtsOutput) -> TtsConfig {
    TtsConfig {
        voice: None,
        language: "en-US".into(),
        output,
    }
}

#[tokio::test]
async fn speaks_pieces_in_order_as_mulaw_without_the_wav_header() {
    let first: Vec<u8> = (0..1200u32).map(|i| (i % 251) as u8).collect();
    let (fake, tts) = start(vec![ok(&wav(&first)), ok(&wav(&[9; 10]))], "g-test").await;
    let mut session = tts.open(config(TtsOutput::Mulaw8k)).await.unwrap();
    session.send_text("Hello there.").unwrap();
    session.send_text("Bye.").unwrap();
    session.finish().unwrap();
    let mut got = Vec::new();
    let mut pieces = Vec::new();
    loop {
        match next(&mut session).await {
            TtsEvent::Audio(c) => {
                assert_eq!(c.sample_rate, 8_000);
                assert!(c.samples() <= 800, "100 ms chunks");
                pieces.push(c.piece);
                let TtsAudio::Mulaw(b) = c.audio else {
                    panic!("µ-law")
                };
                got.extend(b);
            }
            TtsEvent::Done => break,
            TtsEvent::Error(e) => panic!("{e}"),
        }
    }
    let mut want = first.clone();
    want.extend([9; 10]);
    assert_eq!(got, want);
    assert_eq!(pieces, [0, 0, 1]);
    let requests = fake.requests.lock().unwrap();
    assert_eq!(
        requests[0],
        serde_json::json!({
            "input": {"text": "Hello there."},
            "voice": {"languageCode": "en-US", "name": "en-US-Neural2-F"},
            "audioConfig": {"audioEncoding": "MULAW", "sampleRateHertz": 8000},
        })
    );
    assert_eq!(requests[1]["input"]["text"], "Bye.");
}

#[tokio::test]
async fn linear16_comes_as_samples_at_the_rate_asked_for() {
    let (fake, tts) = start(vec![ok(&wav(&[1, 0, 0xFF, 0xFF]))], "g-test").await;
    let mut session = tts
        .open(config(TtsOutput::Linear16 {
            sample_rate: 16_000,
        }))
        .await
        .unwrap();
    session.send_text("Hi.").unwrap();
    session.finish().unwrap();
    let TtsEvent::Audio(c) = next(&mut session).await else {
        panic!("audio")
    };
    assert_eq!(
        (c.audio, c.sample_rate),
        (TtsAudio::Linear16(vec![1, -1]), 16_000)
    );
    assert_eq!(next(&mut session).await, TtsEvent::Done);
    assert_eq!(
        fake.requests.lock().unwrap()[0]["audioConfig"]["audioEncoding"],
        "LINEAR16"
    );
}

async fn failure(reply: Reply, key: &str) -> TtsError {
    let (_fake, tts) = start(vec![reply], key).await;
    let mut session = tts.open(config(TtsOutput::Mulaw8k)).await.unwrap();
    session.send_text("Hi.").unwrap();
    match next(&mut session).await {
        TtsEvent::Error(e) => e,
        other => panic!("expected an error, got {other:?}"),
    }
}

#[tokio::test]
async fn throttling_and_server_errors_may_pass_a_refused_key_may_not() {
    let quota =
        r#"{"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED"}}"#;
    let e = failure((429, quota.into()), "g-test").await;
    assert!(
        matches!(&e, TtsError::Provider(m) if m.contains("429")),
        "{e:?}"
    );
    let e = failure((500, "{}".into()), "g-test").await;
    assert!(
        matches!(&e, TtsError::Provider(m) if m.contains("500")),
        "{e:?}"
    );
    let e = failure(ok(b""), "wrong").await;
    assert!(
        matches!(&e, TtsError::Rejected(m) if m.contains("API key not valid")),
        "{e:?}"
    );
}

#[tokio::test]
async fn an_answer_without_audio_breaks_the_protocol() {
    let e = failure((200, r#"{"nothing":1}"#.into()), "g-test").await;
    assert!(
        matches!(&e, TtsError::Protocol(m) if m.contains("audioContent")),
        "{e:?}"
    );
}

#[test]
fn wav_parsing_takes_the_data_chunk_or_refuses() {
    assert_eq!(strip_wav(&wav(&[5, 6])).unwrap(), [5, 6]);
    assert_eq!(strip_wav(b"raw").unwrap(), b"raw");
    assert!(strip_wav(b"RIFF\0\0\0\0WAVE").is_err());
    assert!(strip_wav(b"RIFF\0\0\0\0AVI ").is_err());
    // A length past the end takes what there is.
    let mut truncated = wav(&[1, 2, 3]);
    truncated.truncate(truncated.len() - 1);
    assert_eq!(strip_wav(&truncated).unwrap(), [1, 2]);
    assert!(parse_synthesis(r#"{"audioContent":"!!"}"#).is_err());
}

#[tokio::test]
async fn a_connection_dropped_before_the_answer_is_a_failure_that_may_pass() {
    // A server that reads the request and hangs up without answering.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = tokio::io::AsyncReadExt::read(&mut tcp, &mut buf).await;
            drop(tcp);
        }
    });
    let google = GoogleConfig {
        tts_endpoint: url,
        ..GoogleConfig::new(GoogleCredentials::ApiKey(ApiKey::new("g-test")), "")
    };
    let tts = GoogleTts::new(google).unwrap();
    let mut session = tts.open(config(TtsOutput::Mulaw8k)).await.unwrap();
    session.send_text("Hi.").unwrap();
    let event = next(&mut session).await;
    assert!(
        matches!(event, TtsEvent::Error(TtsError::Connect(_))),
        "{event:?}"
    );
}
