//! `[speech.azure] token`: both directions authenticate with
//! `Authorization: Bearer` instead of the subscription key, against the fake
//! service accepting that token.

use std::time::Duration;

use tokio::time::timeout;

use super::fake::FakeAzure;
use super::*;
use crate::adapter::speech::deepgram::ApiKey;
use crate::adapter::speech::fake::synthesize;
use crate::application::ports::speech::{
    SpeechToText, SttConfig, SttError, SttEvent, SttSampleRate, TextToSpeech, TtsConfig, TtsError,
    TtsEvent, TtsOutput,
};

const KEY: &str = "az-key";
const TOKEN: &str = "eyJ0eXAiOiJKV1QifQ.az-token";

/// A fake accepting the key and `TOKEN`, and a config with `token` and no key.
async fn setup(token: &str) -> (FakeAzure, AzureConfig) {
    let fake = FakeAzure::start(KEY, &["hello token"]).await.unwrap();
    fake.accept_token(TOKEN);
    let config = AzureConfig {
        // The key is not sent when there is a token: a wrong one is harmless.
        api_key: ApiKey::new("not-the-key"),
        token: ApiKey::new(token),
        base_url: Some(fake.url.clone()),
        ..AzureConfig::default()
    };
    (fake, config)
}

/// Speaks "Hello." and returns how the session ended.
async fn synthesise(config: AzureConfig) -> Result<usize, TtsError> {
    let tts = AzureTts::new(config).unwrap();
    let output = TtsOutput::Native;
    let mut session = tts
        .open(TtsConfig {
            voice: None,
            language: "en-US".into(),
            output,
        })
        .await?;
    session.send_text("Hello.").unwrap();
    session.finish().unwrap();
    let mut chunks = 0;
    loop {
        let event = timeout(Duration::from_secs(10), session.recv()).await;
        match event.expect("an event in time") {
            Some(TtsEvent::Audio(_)) => chunks += 1,
            Some(TtsEvent::Done) => return Ok(chunks),
            Some(TtsEvent::Error(e)) => return Err(e),
            None => return Err(TtsError::Closed),
        }
    }
}

#[tokio::test]
async fn synthesis_with_a_token_is_accepted_and_a_wrong_token_refused() {
    let (fake, config) = setup(TOKEN).await;
    let chunks = synthesise(config).await.unwrap();
    assert!(chunks > 0);
    assert_eq!(fake.log().tts.len(), 1);
    let (_fake, config) = setup("expired").await;
    match synthesise(config).await {
        Err(TtsError::Rejected(m)) => assert!(m.contains("401"), "{m}"),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn recognition_with_a_token_is_accepted_and_a_wrong_token_refused() {
    let (_fake, config) = setup(TOKEN).await;
    let stt = AzureStt::new(config);
    let mut session = stt
        .open(SttConfig::new("en-US", SttSampleRate::Hz8000))
        .await
        .unwrap();
    let voice = synthesize("hello token", 8_000, Duration::from_millis(60));
    for frame in voice.chunks(160) {
        while let Err(SttError::Overrun { .. }) = session.push_audio(frame.to_vec()) {
            tokio::task::yield_now().await;
        }
    }
    session.finish().unwrap();
    let text = loop {
        let event = timeout(Duration::from_secs(10), session.recv()).await;
        match event.expect("an event in time") {
            Some(SttEvent::Final { text, .. }) => break text,
            Some(SttEvent::Error(e)) => panic!("{e}"),
            None => panic!("session ended"),
            Some(_) => {}
        }
    };
    assert_eq!(text, "hello token");

    let (_fake, config) = setup("expired").await;
    match AzureStt::new(config)
        .open(SttConfig::new("en-US", SttSampleRate::Hz8000))
        .await
    {
        Err(SttError::Rejected(m)) => assert!(m.contains("401"), "{m}"),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn the_token_is_never_printed() {
    let config = AzureConfig {
        token: ApiKey::new(TOKEN),
        ..AzureConfig::default()
    };
    assert!(!format!("{config:?}").contains("az-token"));
}
