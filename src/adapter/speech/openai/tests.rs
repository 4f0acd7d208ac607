//! The OpenAI adapter against a local fake of `POST /v1/audio/speech`.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::sync::mpsc;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Bytes;

use super::*;
use crate::adapter::speech::deepgram::ApiKey;
use crate::adapter::speech::deepgram::socket::decode_le as decode;
use crate::application::ports::speech::{
    TextToSpeech, TtsAudio, TtsConfig, TtsError, TtsEvent, TtsOutput, TtsSession,
};

type Chunk = Result<Bytes, std::io::Error>;

/// What the fake answers to the next request.
enum Reply {
    /// These body chunks, then the end.
    Pcm(Vec<Vec<u8>>),
    /// An error status with a JSON body.
    Status(u16),
    /// Chunks as the test sends them; the test sees the client go away.
    Live(mpsc::Receiver<Chunk>),
}

#[derive(Clone, Default)]
struct Fake {
    replies: Arc<Mutex<VecDeque<Reply>>>,
    requests: Arc<Mutex<Vec<serde_json::Value>>>,
}

async fn speech(State(fake): State<Fake>, headers: HeaderMap, body: String) -> Response {
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer sk-test") {
        let body =
            r#"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error"}}"#;
        return (StatusCode::UNAUTHORIZED, body).into_response();
    }
    fake.requests
        .lock()
        .unwrap()
        .push(serde_json::from_str(&body).unwrap());
    let reply = fake
        .replies
        .lock()
        .unwrap()
        .pop_front()
        .expect("a scripted reply");
    match reply {
        Reply::Pcm(chunks) => {
            let chunks = chunks
                .into_iter()
                .map(|c| Ok::<_, std::io::Error>(Bytes::from(c)));
            Body::from_stream(futures_util::stream::iter(chunks)).into_response()
        }
        Reply::Status(code) => {
            let status = StatusCode::from_u16(code).unwrap();
            (status, r#"{"error":{"message":"nope"}}"#).into_response()
        }
        Reply::Live(rx) => {
            let stream = futures_util::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|c| (c, rx))
            });
            Body::from_stream(stream).into_response()
        }
    }
}

async fn serve(replies: Vec<Reply>) -> (Fake, String) {
    let fake = Fake::default();
    fake.replies.lock().unwrap().extend(replies);
    let app = axum::Router::new()
        .route("/v1/audio/speech", axum::routing::post(speech))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (fake, format!("http://{addr}"))
}

fn adapter(base_url: String, key: &str) -> OpenAiTts {
    OpenAiTts::new(OpenAiTtsConfig {
        api_key: ApiKey::new(key),
        base_url,
        read_timeout: Duration::from_secs(5),
        ..OpenAiTtsConfig::default()
    })
    .unwrap()
}

fn config() -> TtsConfig {
    TtsConfig {
        voice: Some("nova".into()),
        language: "en-US".into(),
        output: TtsOutput::Mulaw8k,
    }
}

async fn next(session: &mut TtsSession) -> Option<TtsEvent> {
    timeout(Duration::from_secs(10), session.recv())
        .await
        .expect("an event in time")
}

fn le(samples: &[i16]) -> Vec<u8> {
    samples.iter().flat_map(|s| s.to_le_bytes()).collect()
}

#[test]
fn samples_split_across_chunks_are_joined() {
    let bytes = le(&[1, -2, 300]);
    let mut odd = None;
    let mut out = decode(&mut odd, &bytes[..3]);
    out.extend(decode(&mut odd, &bytes[3..]));
    assert_eq!(out, [1, -2, 300]);
    assert_eq!(odd, None);
}

#[tokio::test]
async fn streams_each_piece_in_order_with_its_id() {
    let first = le(&[1, 2, 3]);
    let (fake, url) = serve(vec![
        // An odd split: the sample straddles two body chunks.
        Reply::Pcm(vec![first[..3].to_vec(), first[3..].to_vec()]),
        Reply::Pcm(vec![le(&[7, 8])]),
    ])
    .await;
    let tts = adapter(url, "sk-test");
    let mut session = tts.open(config()).await.unwrap();
    assert_eq!(session.send_text("Hello there."), Ok(0));
    assert_eq!(session.send_text("Bye."), Ok(1));
    session.finish().unwrap();
    let mut got = Vec::new();
    loop {
        match next(&mut session).await {
            Some(TtsEvent::Audio(c)) => {
                assert_eq!(c.sample_rate, 24_000);
                let TtsAudio::Linear16(pcm) = c.audio else {
                    panic!("not linear")
                };
                got.extend(pcm.into_iter().map(|s| (c.piece, s)));
            }
            Some(TtsEvent::Done) => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(got, [(0, 1), (0, 2), (0, 3), (1, 7), (1, 8)]);
    let requests = fake.requests.lock().unwrap().clone();
    assert_eq!(requests[0]["input"], "Hello there.");
    assert_eq!(requests[0]["voice"], "nova");
    assert_eq!(requests[0]["response_format"], "pcm");
    assert_eq!(requests[1]["input"], "Bye.");
}

#[tokio::test]
async fn a_bad_key_is_a_rejection() {
    let (_fake, url) = serve(vec![]).await;
    let mut session = adapter(url, "wrong").open(config()).await.unwrap();
    session.send_text("Hello.").unwrap();
    match next(&mut session).await {
        Some(TtsEvent::Error(TtsError::Rejected(m))) => assert!(m.starts_with("HTTP 401"), "{m}"),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn a_server_error_is_a_provider_error() {
    let (_fake, url) = serve(vec![Reply::Status(503)]).await;
    let mut session = adapter(url, "sk-test").open(config()).await.unwrap();
    session.send_text("Hello.").unwrap();
    assert!(matches!(
        next(&mut session).await,
        Some(TtsEvent::Error(TtsError::Provider(_)))
    ));
}

#[tokio::test]
async fn throttling_may_pass_a_bad_request_may_not() {
    for (status, passes) in [(429, true), (400, false)] {
        let (_fake, url) = serve(vec![Reply::Status(status)]).await;
        let mut session = adapter(url, "sk-test").open(config()).await.unwrap();
        session.send_text("Hello.").unwrap();
        match next(&mut session).await {
            Some(TtsEvent::Error(TtsError::Provider(m))) if passes => {
                assert!(m.starts_with(&format!("HTTP {status}")), "{m}")
            }
            Some(TtsEvent::Error(TtsError::Rejected(m))) if !passes => {
                assert!(m.starts_with(&format!("HTTP {status}")), "{m}")
            }
            other => panic!("{status}: unexpected {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_body_that_breaks_mid_stream_is_a_provider_error() {
    let (tx, rx) = mpsc::channel(4);
    let (_fake, url) = serve(vec![Reply::Live(rx)]).await;
    let mut session = adapter(url, "sk-test").open(config()).await.unwrap();
    session.send_text("Hello.").unwrap();
    tx.send(Ok(Bytes::from(le(&[5, 6])))).await.unwrap();
    assert!(matches!(next(&mut session).await, Some(TtsEvent::Audio(_))));
    tx.send(Err(std::io::Error::other("boom"))).await.unwrap();
    assert!(matches!(
        next(&mut session).await,
        Some(TtsEvent::Error(TtsError::Provider(_)))
    ));
}

#[tokio::test]
async fn cancel_drops_the_request_and_nothing_follows() {
    let (tx, rx) = mpsc::channel(4);
    let (_fake, url) = serve(vec![Reply::Live(rx)]).await;
    let mut session = adapter(url, "sk-test").open(config()).await.unwrap();
    session.send_text("A long answer.").unwrap();
    tx.send(Ok(Bytes::from(le(&[5, 6])))).await.unwrap();
    assert!(matches!(next(&mut session).await, Some(TtsEvent::Audio(_))));
    session.cancel();
    assert_eq!(session.recv().await, None);
    // The server sees the client hang up: its body stream is dropped.
    timeout(Duration::from_secs(10), tx.closed())
        .await
        .expect("the request dropped");
}

#[tokio::test]
async fn an_unreachable_server_is_a_connect_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let mut session = adapter(url, "sk-test").open(config()).await.unwrap();
    session.send_text("Hello.").unwrap();
    assert!(matches!(
        next(&mut session).await,
        Some(TtsEvent::Error(TtsError::Connect(_)))
    ));
}
