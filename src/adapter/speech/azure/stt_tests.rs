//! Azure recognition against the fake service on loopback.

use std::time::Duration;

use tokio::time::timeout;

use super::fake::{FakeAzure, SttFault};
use super::*;
use crate::adapter::speech::deepgram::ApiKey;
use crate::adapter::speech::fake::synthesize;
use crate::application::ports::speech::{
    SpeechToText, SttConfig, SttError, SttEvent, SttSampleRate, SttSession,
};

const KEY: &str = "az-test";

async fn setup(key: &str) -> (FakeAzure, AzureStt) {
    let fake = FakeAzure::start(KEY, &["transfer me to billing", "goodbye"])
        .await
        .unwrap();
    let config = AzureConfig {
        api_key: ApiKey::new(key),
        base_url: Some(fake.url.clone()),
        ..AzureConfig::default()
    };
    (fake, AzureStt::new(config))
}

fn config() -> SttConfig {
    SttConfig {
        hints: vec!["billing".into()],
        ..SttConfig::new("en-US", SttSampleRate::Hz8000)
    }
}

async fn next(session: &mut SttSession) -> Option<SttEvent> {
    timeout(Duration::from_secs(10), session.recv())
        .await
        .expect("an event in time")
}

/// Pushes `text` as a voice in 20 ms frames, yielding when the queue is full.
async fn speak(session: &mut SttSession, text: &str) {
    let voice = synthesize(text, 8_000, Duration::from_millis(60));
    for frame in voice.chunks(160) {
        while let Err(SttError::Overrun { .. }) = session.push_audio(frame.to_vec()) {
            tokio::task::yield_now().await;
        }
    }
}

/// The next `Final`, skipping other events.
async fn final_text(session: &mut SttSession) -> String {
    loop {
        match next(session).await {
            Some(SttEvent::Final { text, .. }) => return text,
            Some(SttEvent::Error(e)) => panic!("{e}"),
            None => panic!("session ended"),
            Some(_) => {}
        }
    }
}

#[tokio::test]
async fn streams_turns_with_interims_and_one_final_per_finish() {
    let (fake, stt) = setup(KEY).await;
    let mut session = stt.open(config()).await.unwrap();
    speak(&mut session, "transfer me to billing").await;
    assert!(matches!(
        next(&mut session).await,
        Some(SttEvent::SpeechStarted { .. })
    ));
    let Some(SttEvent::Interim { text, .. }) = next(&mut session).await else {
        panic!("an interim")
    };
    assert_eq!(text, "transfer");
    session.finish().unwrap();
    assert_eq!(final_text(&mut session).await, "transfer me to billing");

    // The next utterance is a new turn on the same connection.
    speak(&mut session, "goodbye").await;
    session.finish().unwrap();
    assert_eq!(final_text(&mut session).await, "goodbye");

    let log = fake.log();
    assert_eq!(log.violations, Vec::<String>::new());
    assert_eq!(log.stt_connections, 1);
    assert!(log.stt_queries[0].contains("language=en-US"), "{log:?}");
    assert_eq!(log.turns.len(), 2);
    assert_ne!(log.turns[0].request_id, log.turns[1].request_id);
    assert!(
        log.turns
            .iter()
            .all(|t| t.ended && t.sample_rate == 8_000 && !t.mulaw)
    );
    // 22 characters of 60 ms at 8 kHz, 16-bit, after the 44-byte header.
    assert_eq!(log.turns[0].audio_bytes, 22 * 480 * 2);
    assert!(log.contexts[0].contains("billing"), "{:?}", log.contexts);
}

#[tokio::test]
async fn audio_during_a_turn_end_opens_the_next_turn() {
    let (fake, stt) = setup(KEY).await;
    let mut session = stt.open(config()).await.unwrap();
    speak(&mut session, "transfer me").await;
    session.finish().unwrap();
    // Before turn.end can arrive: held, then sent as the next turn.
    speak(&mut session, "goodbye").await;
    session.finish().unwrap();
    assert_eq!(final_text(&mut session).await, "transfer me to billing");
    assert_eq!(final_text(&mut session).await, "goodbye");
    let log = fake.log();
    assert_eq!(log.violations, Vec::<String>::new());
    assert_eq!(log.turns.len(), 2);
}

#[tokio::test]
async fn silence_and_a_bare_finish_yield_empty_finals() {
    let (fake, stt) = setup(KEY).await;
    let mut session = stt.open(config()).await.unwrap();
    session.finish().unwrap();
    assert_eq!(final_text(&mut session).await, "");
    session.push_audio(vec![0i16; 160]).unwrap();
    session.finish().unwrap();
    assert_eq!(final_text(&mut session).await, "");
    assert_eq!(fake.log().turns.len(), 1, "only audio opens a turn");
}

#[tokio::test]
async fn a_bad_key_is_rejected_at_open() {
    let (_fake, stt) = setup("wrong").await;
    match stt.open(config()).await {
        Err(SttError::Rejected(m)) => assert!(m.contains("401"), "{m}"),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn throttling_at_open_may_pass() {
    let (fake, stt) = setup(KEY).await;
    fake.fail_next_stt(SttFault::Throttled);
    match stt.open(config()).await {
        Err(SttError::Connect(m)) => assert!(m.contains("429"), "{m}"),
        other => panic!("unexpected {other:?}"),
    }
    // Only that one: the next connection is served.
    assert!(stt.open(config()).await.is_ok());
}

#[tokio::test]
async fn a_dropped_connection_mid_stream_is_a_provider_error() {
    let (fake, stt) = setup(KEY).await;
    fake.fail_next_stt(SttFault::DisconnectAfter(5));
    let mut session = stt.open(config()).await.unwrap();
    speak(&mut session, "transfer me to billing").await;
    loop {
        match next(&mut session).await {
            Some(SttEvent::Error(SttError::Provider(_))) => break,
            Some(SttEvent::Error(e)) => panic!("unexpected {e:?}"),
            None => panic!("ended without an error"),
            Some(_) => {}
        }
    }
    assert_eq!(session.recv().await, None);
}

#[tokio::test]
async fn an_error_status_is_a_provider_error() {
    let (fake, stt) = setup(KEY).await;
    fake.fail_next_stt(SttFault::ErrorStatus);
    let mut session = stt.open(config()).await.unwrap();
    speak(&mut session, "hello").await;
    session.finish().unwrap();
    loop {
        match next(&mut session).await {
            Some(SttEvent::Error(SttError::Provider(m))) => {
                assert!(m.contains("Error"), "{m}");
                break;
            }
            Some(SttEvent::Error(e)) => panic!("unexpected {e:?}"),
            None => panic!("ended without an error"),
            Some(_) => {}
        }
    }
}

#[tokio::test]
async fn cancel_ends_the_session_and_nothing_follows() {
    let (_fake, stt) = setup(KEY).await;
    let mut session = stt.open(config()).await.unwrap();
    speak(&mut session, "hello").await;
    session.cancel();
    assert_eq!(session.recv().await, None);
}

#[tokio::test]
async fn a_connection_closed_between_turns_is_reopened_for_the_next() {
    let (fake, stt) = setup(KEY).await;
    fake.fail_next_stt(SttFault::CloseAfterTurn);
    let mut session = stt.open(config()).await.unwrap();
    speak(&mut session, "transfer me").await;
    session.finish().unwrap();
    assert_eq!(final_text(&mut session).await, "transfer me to billing");
    // Whether or not the close is seen before the next turn begins, the
    // next turn is heard on a new connection.
    speak(&mut session, "goodbye").await;
    session.finish().unwrap();
    let heard = final_text(&mut session).await;
    assert_eq!(heard, "goodbye", "{:?}", fake.log());
    assert_eq!(fake.log().stt_connections, 2);
    let log = fake.log();
    assert_eq!(log.violations, Vec::<String>::new());
    assert!(log.turns.len() >= 2);
}

#[tokio::test]
async fn a_turn_the_service_closed_on_before_beginning_goes_again_on_a_new_connection() {
    let (fake, stt) = setup(KEY).await;
    fake.fail_next_stt(SttFault::CloseBeforeTurn);
    let mut session = stt.open(config()).await.unwrap();
    speak(&mut session, "transfer me to billing").await;
    session.finish().unwrap();
    assert_eq!(final_text(&mut session).await, "transfer me to billing");
    let log = fake.log();
    assert_eq!(log.violations, Vec::<String>::new());
    assert_eq!(log.stt_connections, 2);
    // The whole utterance was heard on the second connection.
    let replayed = log.turns.last().unwrap();
    assert!(replayed.ended);
    assert_eq!(replayed.audio_bytes, 22 * 480 * 2);
}
