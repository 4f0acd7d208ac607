//! Deepgram live STT against a local fake of `/v1/listen`.

use std::time::Duration;

use futures_util::SinkExt;
use serde_json::json;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::fake_ws::{Conn, FakeServer};
use super::*;
use crate::application::ports::speech::{
    SpeechToText, SttConfig, SttError, SttEvent, SttSampleRate, SttSession,
};

async fn setup(tune: impl FnOnce(&mut DeepgramConfig)) -> (FakeServer, DeepgramStt) {
    let server = FakeServer::start("authorization", "Token dg-test").await;
    let mut config = DeepgramConfig {
        api_key: ApiKey::new("dg-test"),
        base_url: server.url.clone(),
        ..DeepgramConfig::default()
    };
    tune(&mut config);
    (server, DeepgramStt::new(config))
}

async fn open(server: &mut FakeServer, stt: &DeepgramStt) -> (SttSession, Conn) {
    let config = SttConfig::new("en-US", SttSampleRate::Hz16000);
    let (session, conn) = tokio::join!(stt.open(config), server.accept());
    (session.unwrap(), conn)
}

async fn next(session: &mut SttSession) -> Option<SttEvent> {
    timeout(Duration::from_secs(10), session.recv())
        .await
        .expect("an event in time")
}

fn results(text: &str, is_final: bool, speech_final: bool, start: f64) -> serde_json::Value {
    json!({
        "type": "Results", "channel_index": [0, 1], "duration": 1.0, "start": start,
        "is_final": is_final, "speech_final": speech_final,
        "channel": {"alternatives": [{"transcript": text, "confidence": 0.5, "words": []}]},
    })
}

#[tokio::test]
async fn streams_audio_and_reports_interim_then_final() {
    let (mut server, stt) = setup(|_| {}).await;
    let (mut session, mut conn) = open(&mut server, &stt).await;
    for (key, value) in [
        ("model", "nova-3"),
        ("encoding", "linear16"),
        ("sample_rate", "16000"),
        ("channels", "1"),
        ("interim_results", "true"),
        ("endpointing", "300"),
        ("language", "en-US"),
    ] {
        assert!(
            conn.uri.contains(&format!("{key}={value}")),
            "{key} in {}",
            conn.uri
        );
    }
    session.push_audio(vec![1i16, -2, 3]).unwrap();
    assert_eq!(
        conn.next().await,
        Some(Message::binary(vec![1, 0, 0xfe, 0xff, 3, 0]))
    );
    conn.send_json(json!({"type": "SpeechStarted", "channel": [0, 1], "timestamp": 0.5}))
        .await;
    conn.send_json(results("transfer me", false, false, 0.0))
        .await;
    conn.send_json(results("transfer me", true, false, 0.0))
        .await;
    conn.send_json(results("to billing", true, true, 1.0)).await;
    conn.send_json(json!({"type": "Metadata", "request_id": "r"}))
        .await;
    assert_eq!(
        next(&mut session).await,
        Some(SttEvent::SpeechStarted {
            at: Duration::from_millis(500)
        })
    );
    let Some(SttEvent::Interim { text, .. }) = next(&mut session).await else {
        panic!("interim")
    };
    assert_eq!(text, "transfer me");
    let final_event = SttEvent::Final {
        text: "transfer me to billing".into(),
        start: Duration::ZERO,
        end: Duration::from_secs(2),
        confidence: Some(0.5),
    };
    assert_eq!(next(&mut session).await, Some(final_event));
    // finish → Finalize, answered by one Final even when nothing was left.
    session.finish().unwrap();
    assert_eq!(conn.json().await, json!({"type": "Finalize"}));
    let mut flushed = results("", true, false, 2.0);
    flushed["from_finalize"] = json!(true);
    conn.send_json(flushed).await;
    let Some(SttEvent::Final { text, .. }) = next(&mut session).await else {
        panic!("final")
    };
    assert_eq!(text, "");
    drop(session);
    assert_eq!(conn.json().await, json!({"type": "CloseStream"}));
}

#[tokio::test]
async fn a_bad_key_is_rejected_at_open() {
    let (_server, _) = setup(|_| {}).await;
    let (server, stt) = setup(|c| c.api_key = ApiKey::new("wrong")).await;
    let config = SttConfig::new("en-US", SttSampleRate::Hz8000);
    match stt.open(config).await {
        Err(SttError::Rejected(m)) => assert!(m.contains("401"), "{m}"),
        other => panic!("unexpected {other:?}"),
    }
    drop(server);
}

#[tokio::test]
async fn keepalive_flows_while_no_audio_does() {
    let (mut server, stt) = setup(|c| c.keepalive = Duration::from_millis(50)).await;
    let (_session, mut conn) = open(&mut server, &stt).await;
    assert_eq!(conn.json().await, json!({"type": "KeepAlive"}));
    assert_eq!(conn.json().await, json!({"type": "KeepAlive"}));
}

#[tokio::test]
async fn a_finalize_without_answer_still_yields_a_final() {
    let (mut server, stt) = setup(|c| c.finalize_timeout = Duration::from_millis(50)).await;
    let (mut session, mut conn) = open(&mut server, &stt).await;
    conn.send_json(results("hello", true, false, 0.0)).await;
    session.finish().unwrap();
    let Some(SttEvent::Final { text, .. }) = next(&mut session).await else {
        panic!("final")
    };
    assert_eq!(text, "hello");
}

#[tokio::test]
async fn a_close_frame_mid_stream_is_a_provider_error() {
    let (mut server, stt) = setup(|_| {}).await;
    let (mut session, mut conn) = open(&mut server, &stt).await;
    let frame = CloseFrame {
        code: CloseCode::Error,
        reason: "NET-0001".into(),
    };
    conn.send(Message::Close(Some(frame))).await;
    match next(&mut session).await {
        Some(SttEvent::Error(SttError::Provider(m))) => assert!(m.contains("NET-0001"), "{m}"),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(session.recv().await, None);
}

#[tokio::test]
async fn a_dropped_connection_is_a_provider_error() {
    let (mut server, stt) = setup(|_| {}).await;
    let (mut session, conn) = open(&mut server, &stt).await;
    drop(conn);
    assert!(matches!(
        next(&mut session).await,
        Some(SttEvent::Error(SttError::Provider(_)))
    ));
}

#[tokio::test]
async fn an_error_message_is_a_provider_error() {
    let (mut server, stt) = setup(|_| {}).await;
    let (mut session, mut conn) = open(&mut server, &stt).await;
    conn.send_json(json!({"type": "Error", "description": "bad audio"}))
        .await;
    assert_eq!(
        next(&mut session).await,
        Some(SttEvent::Error(SttError::Provider("bad audio".into())))
    );
}

#[tokio::test]
async fn garbage_and_oversized_messages_are_protocol_errors() {
    let (mut server, stt) = setup(|_| {}).await;
    let (mut session, mut conn) = open(&mut server, &stt).await;
    conn.send(Message::text("{not json")).await;
    assert!(matches!(
        next(&mut session).await,
        Some(SttEvent::Error(SttError::Protocol(_)))
    ));

    let (mut session, mut conn) = open(&mut server, &stt).await;
    conn.send(Message::text(json!({"type": "Results"}).to_string()))
        .await;
    assert!(matches!(
        next(&mut session).await,
        Some(SttEvent::Error(SttError::Protocol(_)))
    ));

    let (mut session, mut conn) = open(&mut server, &stt).await;
    let huge = "x".repeat(socket::MAX_MESSAGE + 1);
    let _ = conn.ws.send(Message::text(huge)).await;
    assert!(matches!(
        next(&mut session).await,
        Some(SttEvent::Error(SttError::Protocol(_)))
    ));
}

#[tokio::test]
async fn cancel_closes_the_stream_and_nothing_follows() {
    let (mut server, stt) = setup(|_| {}).await;
    let (mut session, mut conn) = open(&mut server, &stt).await;
    conn.send_json(results("hel", false, false, 0.0)).await;
    session.cancel();
    assert_eq!(session.recv().await, None);
    assert_eq!(
        conn.until_type("CloseStream").await,
        json!({"type": "CloseStream"})
    );
}
