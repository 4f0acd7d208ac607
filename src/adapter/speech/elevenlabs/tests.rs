//! ElevenLabs TTS against a local fake of the stream-input WebSocket.

use std::time::Duration;

use base64::Engine as _;
use serde_json::json;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::*;
use crate::adapter::speech::deepgram::ApiKey;
use crate::adapter::speech::deepgram::fake_ws::{Conn, FakeServer};
use crate::application::ports::speech::{
    TextToSpeech, TtsAudio, TtsConfig, TtsError, TtsEvent, TtsOutput, TtsSession,
};

async fn setup(key: &str) -> (FakeServer, ElevenLabsTts) {
    let server = FakeServer::start("xi-api-key", "xi-test").await;
    let config = ElevenLabsConfig {
        api_key: ApiKey::new(key),
        base_url: server.url.clone(),
        read_timeout: Duration::from_secs(5),
        ..ElevenLabsConfig::default()
    };
    (server, ElevenLabsTts::new(config))
}

fn config() -> TtsConfig {
    TtsConfig {
        voice: Some("voice1".into()),
        language: "en-US".into(),
        output: TtsOutput::Mulaw8k,
    }
}

async fn open(server: &mut FakeServer, tts: &ElevenLabsTts) -> (TtsSession, Conn) {
    let (session, mut conn) = tokio::join!(tts.open(config()), server.accept());
    assert_eq!(conn.json().await, json!({"text": " "}));
    (session.unwrap(), conn)
}

async fn next(session: &mut TtsSession) -> Option<TtsEvent> {
    timeout(Duration::from_secs(10), session.recv())
        .await
        .expect("an event in time")
}

fn audio(bytes: &[u8], chars: &[&str]) -> serde_json::Value {
    let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
    json!({"audio": b64, "isFinal": null, "alignment": {"chars": chars, "charStartTimesMs": [], "charDurationsMs": []}})
}

#[tokio::test]
async fn speaks_pieces_with_their_ids_then_done() {
    let (mut server, tts) = setup("xi-test").await;
    let (mut session, mut conn) = open(&mut server, &tts).await;
    assert!(
        conn.uri
            .starts_with("/v1/text-to-speech/voice1/stream-input?"),
        "{}",
        conn.uri
    );
    assert!(
        conn.uri.contains("model_id=eleven_flash_v2_5"),
        "{}",
        conn.uri
    );
    assert!(conn.uri.contains("output_format=ulaw_8000"), "{}", conn.uri);
    session.send_text("Hi.").unwrap();
    session.send_text("Go.").unwrap();
    session.finish().unwrap();
    let hi = json!({"text": "Hi. ", "try_trigger_generation": true, "flush": true});
    assert_eq!(conn.json().await, hi);
    assert_eq!(conn.json().await["text"], "Go. ");
    assert_eq!(conn.json().await, json!({"text": ""}));
    conn.send_json(audio(&[1, 2], &["H", "i", ".", " "])).await;
    conn.send_json(audio(&[3], &["G", "o", "."])).await;
    conn.send_json(json!({"isFinal": true})).await;
    let mut got = Vec::new();
    loop {
        match next(&mut session).await {
            Some(TtsEvent::Audio(c)) => {
                assert_eq!(c.sample_rate, 8_000);
                let TtsAudio::Mulaw(b) = c.audio else {
                    panic!("µ-law")
                };
                got.push((c.piece, b));
            }
            Some(TtsEvent::Done) => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(got, [(0, vec![1, 2]), (1, vec![3])]);
}

#[tokio::test]
async fn a_bad_key_is_rejected_at_open() {
    let (_server, tts) = setup("wrong").await;
    let got = tts.open(config()).await;
    assert!(matches!(got, Err(TtsError::Rejected(_))), "{got:?}");
}

#[tokio::test]
async fn an_error_message_mid_stream_is_a_provider_error() {
    let (mut server, tts) = setup("xi-test").await;
    let (mut session, mut conn) = open(&mut server, &tts).await;
    session.send_text("Hello.").unwrap();
    conn.json().await;
    conn.send_json(audio(&[9], &["H"])).await;
    conn.send_json(json!({"message": "quota exceeded", "error": "quota_exceeded", "code": 1008}))
        .await;
    assert!(matches!(next(&mut session).await, Some(TtsEvent::Audio(_))));
    assert!(matches!(
        next(&mut session).await,
        Some(TtsEvent::Error(TtsError::Provider(_)))
    ));
}

#[tokio::test]
async fn a_policy_close_is_a_provider_error() {
    let (mut server, tts) = setup("xi-test").await;
    let (mut session, mut conn) = open(&mut server, &tts).await;
    let frame = CloseFrame {
        code: CloseCode::Policy,
        reason: "input_timeout_exceeded".into(),
    };
    conn.send(Message::Close(Some(frame))).await;
    match next(&mut session).await {
        Some(TtsEvent::Error(TtsError::Provider(m))) => assert!(m.contains("input_timeout"), "{m}"),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn garbage_is_a_protocol_error() {
    let (mut server, tts) = setup("xi-test").await;
    let (mut session, mut conn) = open(&mut server, &tts).await;
    conn.send(Message::text(r#"{"audio": "not base64!"}"#))
        .await;
    assert!(matches!(
        next(&mut session).await,
        Some(TtsEvent::Error(TtsError::Protocol(_)))
    ));
}

#[tokio::test]
async fn cancel_closes_the_socket_and_nothing_follows() {
    let (mut server, tts) = setup("xi-test").await;
    let (mut session, mut conn) = open(&mut server, &tts).await;
    session.send_text("A long answer.").unwrap();
    conn.json().await;
    conn.send_json(audio(&[1; 160], &["A"])).await;
    assert!(matches!(next(&mut session).await, Some(TtsEvent::Audio(_))));
    conn.send_json(audio(&[2; 160], &["l"])).await;
    session.cancel();
    assert_eq!(session.recv().await, None);
    assert!(matches!(conn.next().await, Some(Message::Close(_)) | None));
}
