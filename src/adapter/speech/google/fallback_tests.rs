//! Google in fallback chains: when the fake Google fails mid-call, the next
//! provider takes the turn.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::timeout;

use super::fake_grpc::FakeSpeech;
use super::*;
use crate::adapter::speech::deepgram::ApiKey;
use crate::adapter::speech::fake::{FakeStt, FakeSttConfig, FakeTts, FakeTtsConfig, synthesize};
use crate::adapter::speech::fallback::{FallbackConfig, FallbackStt, FallbackTts, SpeechMetrics};
use crate::application::ports::speech::{
    SpeechToText, SttConfig, SttEvent, SttSampleRate, TextToSpeech, TtsConfig, TtsEvent, TtsOutput,
};

#[tokio::test]
async fn a_google_stream_that_drops_mid_call_hands_the_turn_to_the_next_stt() {
    let mut server = FakeSpeech::start("x-goog-api-key", "g-test").await;
    let google = GoogleStt::new(GoogleConfig {
        stt_endpoint: server.url.clone(),
        ..GoogleConfig::new(GoogleCredentials::ApiKey(ApiKey::new("g-test")), "p")
    })
    .unwrap();
    let backup = FakeStt::new(FakeSttConfig::default());
    let metrics = SpeechMetrics::default();
    let providers: Vec<(String, Arc<dyn SpeechToText>)> = vec![
        ("google".into(), Arc::new(google)),
        ("fake".into(), Arc::new(backup.clone())),
    ];
    let chain = FallbackStt::new(providers, FallbackConfig::default(), metrics.clone());
    let (session, call) = tokio::join!(
        chain.open(SttConfig::new("en-US", SttSampleRate::Hz16000)),
        server.accept()
    );
    let mut session = session.unwrap();
    let mut call = call;
    call.next().await.unwrap();
    let voice = synthesize("hello there how are you", 16_000, Duration::from_millis(60));
    session.push_audio(voice[..320].to_vec()).unwrap();
    call.next().await.unwrap();
    server.disconnect();
    // The caller keeps talking; the backup must hear the turn.
    let mut heard = None;
    for frame in voice.chunks(320).skip(1).cycle().take(2_000) {
        let _ = session.push_audio(frame.to_vec());
        if let Ok(Some(event)) = timeout(Duration::from_millis(20), session.recv()).await {
            heard = Some(event);
            break;
        }
    }
    let event = heard.expect("a result from the backup");
    assert!(!matches!(event, SttEvent::Error(_)), "{event:?}");
    assert_eq!(backup.log().opened, 1);
    assert_eq!(metrics.fallbacks("stt", "google"), 1);
}

#[tokio::test]
async fn a_google_synthesis_failure_is_spoken_by_the_next_tts() {
    // A Text-to-Speech endpoint that answers every request with 500.
    let app = axum::Router::new().route(
        "/v1/text:synthesize",
        axum::routing::post(|| async { (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "{}") }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let google = GoogleTts::new(GoogleConfig {
        tts_endpoint: url,
        ..GoogleConfig::new(GoogleCredentials::ApiKey(ApiKey::new("g-test")), "")
    })
    .unwrap();
    let backup = FakeTts::new(FakeTtsConfig::default());
    let metrics = SpeechMetrics::default();
    let providers: Vec<(String, Arc<dyn TextToSpeech>)> = vec![
        ("google".into(), Arc::new(google)),
        ("fake".into(), Arc::new(backup.clone())),
    ];
    let chain = FallbackTts::new(providers, FallbackConfig::default(), metrics.clone());
    let mut session = chain
        .open(TtsConfig {
            voice: None,
            language: "en-US".into(),
            output: TtsOutput::Mulaw8k,
        })
        .await
        .unwrap();
    session.send_text("Your balance is ten dollars.").unwrap();
    session.finish().unwrap();
    let mut audio = 0;
    loop {
        match timeout(Duration::from_secs(20), session.recv())
            .await
            .unwrap()
        {
            Some(TtsEvent::Audio(c)) => audio += c.samples(),
            Some(TtsEvent::Done) => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(audio > 0, "the backup spoke");
    assert_eq!(metrics.fallbacks("tts", "google"), 1);
}
