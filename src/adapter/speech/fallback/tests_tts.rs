//! FallbackTts over the in-process fakes, on tokio's paused clock.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::{Instant, timeout};

use super::*;
use crate::adapter::speech::fake::{FakeTts, FakeTtsConfig, FakeTtsFailure};
use crate::application::ports::speech::{
    TextToSpeech, TtsConfig, TtsError, TtsEvent, TtsOutput, TtsSession,
};

fn setup(first_byte: Duration) -> (FakeTts, FakeTts, FallbackTts, SpeechMetrics) {
    let (primary, secondary) = (
        FakeTts::new(FakeTtsConfig::default()),
        FakeTts::new(FakeTtsConfig::default()),
    );
    let metrics = SpeechMetrics::default();
    let config = FallbackConfig {
        first_byte_timeout: first_byte,
        ..FallbackConfig::default()
    };
    let providers: Vec<(String, Arc<dyn TextToSpeech>)> = vec![
        ("primary".into(), Arc::new(primary.clone())),
        ("secondary".into(), Arc::new(secondary.clone())),
    ];
    (
        primary,
        secondary,
        FallbackTts::new(providers, config, metrics.clone()),
        metrics,
    )
}

fn config() -> TtsConfig {
    TtsConfig {
        voice: None,
        language: "en-US".into(),
        output: TtsOutput::Native,
    }
}

async fn next(session: &mut TtsSession) -> Option<TtsEvent> {
    timeout(Duration::from_secs(60), session.recv())
        .await
        .expect("an event in time")
}

/// Pieces of every chunk until `Done`; panics on an error.
async fn pieces_until_done(session: &mut TtsSession) -> Vec<u32> {
    let mut pieces = Vec::new();
    loop {
        match next(session).await {
            Some(TtsEvent::Audio(c)) => pieces.push(c.piece),
            Some(TtsEvent::Done) => return pieces,
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_primary_that_fails_to_open_is_skipped() {
    let (primary, secondary, tts, metrics) = setup(Duration::from_secs(5));
    primary.fail_next(FakeTtsFailure::Open(TtsError::Connect("down".into())));
    let mut session = tts.open(config()).await.unwrap();
    let sent = Instant::now();
    session.send_text("Hello.").unwrap();
    session.finish().unwrap();
    assert!(matches!(next(&mut session).await, Some(TtsEvent::Audio(_))));
    assert!(
        sent.elapsed() < Duration::from_secs(1),
        "{:?}",
        sent.elapsed()
    );
    pieces_until_done(&mut session).await;
    assert_eq!(secondary.log().texts, ["Hello."]);
    assert_eq!(metrics.errors("tts", "primary"), 1);
    assert_eq!(metrics.fallbacks("tts", "primary"), 1);
}

#[tokio::test(start_paused = true)]
async fn a_first_byte_stall_switches_within_a_second() {
    let (primary, secondary, tts, metrics) = setup(Duration::from_millis(300));
    primary.fail_next(FakeTtsFailure::StallAfterChunks(0));
    let mut session = tts.open(config()).await.unwrap();
    let sent = Instant::now();
    session.send_text("Hello.").unwrap();
    session.send_text("Bye.").unwrap();
    session.finish().unwrap();
    assert!(matches!(next(&mut session).await, Some(TtsEvent::Audio(c)) if c.piece == 0));
    assert!(
        sent.elapsed() < Duration::from_secs(1),
        "{:?}",
        sent.elapsed()
    );
    let pieces = pieces_until_done(&mut session).await;
    assert_eq!(pieces.last(), Some(&1));
    assert_eq!(secondary.log().texts, ["Hello.", "Bye."]);
    assert_eq!(primary.log().cancelled, 1);
    assert_eq!(metrics.fallbacks("tts", "primary"), 1);
}

#[tokio::test(start_paused = true)]
async fn a_mid_stream_error_resends_what_was_not_spoken() {
    let (primary, secondary, tts, metrics) = setup(Duration::from_secs(5));
    primary.fail_next(FakeTtsFailure::AfterChunks(
        1,
        TtsError::Provider("boom".into()),
    ));
    let mut session = tts.open(config()).await.unwrap();
    session.send_text("Hello there.").unwrap();
    session.send_text("Bye.").unwrap();
    session.finish().unwrap();
    let pieces = pieces_until_done(&mut session).await;
    assert_eq!(pieces.first(), Some(&0));
    assert_eq!(pieces.last(), Some(&1));
    // Piece 0 was cut mid-sentence: it is spoken again, whole.
    assert_eq!(secondary.log().texts, ["Hello there.", "Bye."]);
    assert_eq!(metrics.errors("tts", "primary"), 1);
    assert_eq!(metrics.fallbacks("tts", "primary"), 1);
}

#[tokio::test(start_paused = true)]
async fn when_every_provider_fails_the_session_fails() {
    let (primary, secondary, tts, _) = setup(Duration::from_secs(5));
    primary.fail_next(FakeTtsFailure::AfterChunks(
        0,
        TtsError::Provider("a".into()),
    ));
    secondary.fail_next(FakeTtsFailure::AfterChunks(
        0,
        TtsError::Provider("b".into()),
    ));
    let mut session = tts.open(config()).await.unwrap();
    session.send_text("Hello.").unwrap();
    assert_eq!(
        next(&mut session).await,
        Some(TtsEvent::Error(TtsError::Provider("b".into())))
    );
}

#[tokio::test(start_paused = true)]
async fn an_open_breaker_skips_the_provider_until_its_cool_down() {
    let (primary, _secondary, tts, _) = setup(Duration::from_secs(5));
    for _ in 0..3 {
        primary.fail_next(FakeTtsFailure::Open(TtsError::Connect("down".into())));
        let _session = tts.open(config()).await.unwrap();
    }
    let opened = primary.log().opened;
    let _session = tts.open(config()).await.unwrap();
    assert_eq!(primary.log().opened, opened, "skipped while open");
    tokio::time::advance(BreakerConfig::default().cool_down).await;
    let _session = tts.open(config()).await.unwrap();
    assert_eq!(primary.log().opened, opened + 1, "tried again half-open");
}
