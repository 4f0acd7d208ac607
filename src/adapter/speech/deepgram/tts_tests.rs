//! Deepgram Aura TTS against a local fake of `/v1/speak`.

use std::time::Duration;

use serde_json::json;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;

use super::fake_ws::{Conn, FakeServer};
use super::*;
use crate::application::ports::speech::{
    TextToSpeech, TtsAudio, TtsConfig, TtsError, TtsEvent, TtsOutput, TtsSession,
};

async fn setup(key: &str) -> (FakeServer, DeepgramTts) {
    let server = FakeServer::start("authorization", "Token dg-test").await;
    let config = DeepgramConfig {
        api_key: ApiKey::new(key),
        base_url: server.url.clone(),
        read_timeout: Duration::from_secs(5),
        ..DeepgramConfig::default()
    };
    (server, DeepgramTts::new(config))
}

fn config(output: TtsOutput) -> TtsConfig {
    TtsConfig {
        voice: None,
        language: "en-US".into(),
        output,
    }
}

async fn open(server: &mut FakeServer, tts: &DeepgramTts) -> (TtsSession, Conn) {
    let (session, conn) = tokio::join!(tts.open(config(TtsOutput::Mulaw8k)), server.accept());
    (session.unwrap(), conn)
}

async fn next(session: &mut TtsSession) -> Option<TtsEvent> {
    timeout(Duration::from_secs(10), session.recv())
        .await
        .expect("an event in time")
}

#[tokio::test]
async fn speaks_pieces_in_order_as_mulaw_8k() {
    let (mut server, tts) = setup("dg-test").await;
    let (mut session, mut conn) = open(&mut server, &tts).await;
    assert!(conn.uri.contains("model=aura-2-thalia-en"), "{}", conn.uri);
    assert!(
        conn.uri.contains("encoding=mulaw&sample_rate=8000"),
        "{}",
        conn.uri
    );
    session.send_text("Hello.").unwrap();
    session.send_text("Bye.").unwrap();
    session.finish().unwrap();
    assert_eq!(
        conn.json().await,
        json!({"type": "Speak", "text": "Hello."})
    );
    assert_eq!(conn.json().await, json!({"type": "Flush"}));
    assert_eq!(conn.json().await, json!({"type": "Speak", "text": "Bye."}));
    assert_eq!(conn.json().await, json!({"type": "Flush"}));
    conn.send_json(json!({"type": "Metadata", "request_id": "r", "model_name": "aura"}))
        .await;
    conn.send(Message::binary(vec![0xff, 0x7f])).await;
    conn.send(Message::binary(vec![0x01])).await;
    conn.send_json(json!({"type": "Flushed", "sequence_id": 0}))
        .await;
    conn.send_json(json!({"type": "Warning", "description": "slow down", "code": "W"}))
        .await;
    conn.send(Message::binary(vec![0x02])).await;
    conn.send_json(json!({"type": "Flushed", "sequence_id": 1}))
        .await;
    let mut got = Vec::new();
    loop {
        match next(&mut session).await {
            Some(TtsEvent::Audio(c)) => {
                assert_eq!(c.sample_rate, 8_000);
                let TtsAudio::Mulaw(bytes) = c.audio else {
                    panic!("not µ-law")
                };
                got.push((c.piece, bytes));
            }
            Some(TtsEvent::Done) => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(got, [(0, vec![0xff, 0x7f]), (0, vec![1]), (1, vec![2])]);
    assert_eq!(conn.json().await, json!({"type": "Close"}));
}

#[tokio::test]
async fn linear_pcm_when_asked() {
    let (mut server, tts) = setup("dg-test").await;
    let asked = TtsOutput::Linear16 {
        sample_rate: 16_000,
    };
    let (session, mut conn) = tokio::join!(tts.open(config(asked)), server.accept());
    let mut session = session.unwrap();
    assert!(
        conn.uri.contains("encoding=linear16&sample_rate=16000"),
        "{}",
        conn.uri
    );
    session.send_text("Hi.").unwrap();
    conn.until_type("Flush").await;
    conn.send(Message::binary(vec![1, 0, 2])).await;
    conn.send(Message::binary(vec![0])).await;
    let mut pcm = Vec::new();
    while pcm.len() < 2 {
        let Some(TtsEvent::Audio(c)) = next(&mut session).await else {
            panic!("audio")
        };
        let TtsAudio::Linear16(s) = c.audio else {
            panic!("linear")
        };
        pcm.extend(s);
    }
    assert_eq!(pcm, [1, 2]);
}

#[tokio::test]
async fn a_bad_key_is_rejected_at_open() {
    let (_server, tts) = setup("wrong").await;
    let got = tts.open(config(TtsOutput::Mulaw8k)).await;
    assert!(matches!(got, Err(TtsError::Rejected(_))), "{got:?}");
}

#[tokio::test]
async fn cancel_clears_and_nothing_follows() {
    let (mut server, tts) = setup("dg-test").await;
    let (mut session, mut conn) = open(&mut server, &tts).await;
    session.send_text("A long answer.").unwrap();
    conn.until_type("Flush").await;
    conn.send(Message::binary(vec![1; 160])).await;
    assert!(matches!(next(&mut session).await, Some(TtsEvent::Audio(_))));
    conn.send(Message::binary(vec![2; 160])).await;
    session.cancel();
    assert_eq!(session.recv().await, None);
    assert_eq!(conn.json().await, json!({"type": "Clear"}));
    assert_eq!(conn.json().await, json!({"type": "Close"}));
}

#[tokio::test]
async fn an_error_message_mid_stream_is_a_provider_error() {
    let (mut server, tts) = setup("dg-test").await;
    let (mut session, mut conn) = open(&mut server, &tts).await;
    session.send_text("Hello.").unwrap();
    conn.until_type("Flush").await;
    conn.send(Message::binary(vec![1; 8])).await;
    conn.send_json(json!({"type": "Error", "err_code": "X", "description": "model gone"}))
        .await;
    assert!(matches!(next(&mut session).await, Some(TtsEvent::Audio(_))));
    assert_eq!(
        next(&mut session).await,
        Some(TtsEvent::Error(TtsError::Provider("model gone".into())))
    );
}

#[tokio::test]
async fn an_unexpected_close_is_a_provider_error() {
    let (mut server, tts) = setup("dg-test").await;
    let (mut session, conn) = open(&mut server, &tts).await;
    session.send_text("Hello.").unwrap();
    drop(conn);
    assert!(matches!(
        next(&mut session).await,
        Some(TtsEvent::Error(TtsError::Provider(_)))
    ));
}

#[tokio::test]
async fn garbage_is_a_protocol_error() {
    let (mut server, tts) = setup("dg-test").await;
    let (mut session, mut conn) = open(&mut server, &tts).await;
    conn.send(Message::text("<html>")).await;
    assert!(matches!(
        next(&mut session).await,
        Some(TtsEvent::Error(TtsError::Protocol(_)))
    ));
}

#[tokio::test]
async fn silence_while_text_is_pending_times_out() {
    let server = FakeServer::start("authorization", "Token dg-test").await;
    let tts = DeepgramTts::new(DeepgramConfig {
        api_key: ApiKey::new("dg-test"),
        base_url: server.url.clone(),
        read_timeout: Duration::from_millis(100),
        ..DeepgramConfig::default()
    });
    let mut server = server;
    let (mut session, _conn) = open(&mut server, &tts).await;
    session.send_text("Hello.").unwrap();
    assert!(matches!(
        next(&mut session).await,
        Some(TtsEvent::Error(TtsError::Timeout { .. }))
    ));
}
