//! Azure in fallback chains, against the fake service: failing mid-stream it
//! hands the turn (STT) or the unspoken piece (TTS) to the next provider, and
//! as a fallback it takes over from a failing primary.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::timeout;

use super::fake::{FakeAzure, SttFault, TtsFault};
use super::*;
use crate::adapter::speech::deepgram::ApiKey;
use crate::adapter::speech::fake::{
    FakeStt, FakeSttConfig, FakeTts, FakeTtsConfig, FakeTtsFailure, synthesize,
};
use crate::adapter::speech::fallback::{FallbackConfig, FallbackStt, FallbackTts, SpeechMetrics};
use crate::application::ports::speech::{
    SpeechToText, SttConfig, SttError, SttEvent, SttSampleRate, SttSession, TextToSpeech,
    TtsConfig, TtsError, TtsEvent, TtsOutput,
};

async fn azure() -> (FakeAzure, AzureConfig) {
    let fake = FakeAzure::start("az-test", &["transfer me to billing"])
        .await
        .unwrap();
    let config = AzureConfig {
        api_key: ApiKey::new("az-test"),
        base_url: Some(fake.url.clone()),
        ..AzureConfig::default()
    };
    (fake, config)
}

fn stt_chain(first: Arc<dyn SpeechToText>, second: Arc<dyn SpeechToText>) -> FallbackStt {
    FallbackStt::new(
        vec![("first".into(), first), ("second".into(), second)],
        FallbackConfig::default(),
        SpeechMetrics::default(),
    )
}

/// Speaks `text` in 20 ms frames at 8 kHz, then ends the utterance, and
/// returns the `Final` that answers it; any error fails the test.
async fn utterance(session: &mut SttSession, text: &str) -> String {
    let voice = synthesize(text, 8_000, Duration::from_millis(60));
    for frame in voice.chunks(160) {
        while let Err(SttError::Overrun { .. }) = session.push_audio(frame.to_vec()) {
            tokio::task::yield_now().await;
        }
        // Let the provider's task run, as real-time audio would.
        tokio::task::yield_now().await;
    }
    session.finish().unwrap();
    loop {
        let event = timeout(Duration::from_secs(10), session.recv()).await;
        match event.expect("a final in time") {
            Some(SttEvent::Final { text, .. }) => return text,
            Some(SttEvent::Error(e)) => panic!("the caller lost the turn: {e}"),
            None => panic!("session ended"),
            Some(_) => {}
        }
    }
}

fn stt_config() -> SttConfig {
    SttConfig::new("en-US", SttSampleRate::Hz8000)
}

#[tokio::test]
async fn azure_dropping_mid_utterance_hands_the_turn_to_the_next_provider() {
    let (fake, config) = azure().await;
    fake.fail_next_stt(SttFault::DisconnectAfter(10));
    let next = FakeStt::new(FakeSttConfig::default());
    next.expect_utterances(["heard by the fallback"]);
    let chain = stt_chain(Arc::new(AzureStt::new(config)), Arc::new(next.clone()));
    let mut session = chain.open(stt_config()).await.unwrap();
    let text = utterance(&mut session, "transfer me to billing please").await;
    assert_eq!(text, "heard by the fallback");
    assert_eq!(fake.log().stt_connections, 1);
    assert_eq!(next.log().opened, 1);
}

#[tokio::test]
async fn azure_as_fallback_takes_the_turn_from_a_failing_primary() {
    let (fake, config) = azure().await;
    let primary = FakeStt::new(FakeSttConfig::default());
    primary.fail_after_frames(5, SttError::Provider("boom".into()));
    let chain = stt_chain(Arc::new(primary), Arc::new(AzureStt::new(config)));
    let mut session = chain.open(stt_config()).await.unwrap();
    let text = utterance(&mut session, "transfer me to billing please").await;
    assert_eq!(text, "transfer me to billing");
    let log = fake.log();
    assert_eq!(log.violations, Vec::<String>::new());
    assert_eq!(log.turns.len(), 1);
}

fn tts_chain(first: Arc<dyn TextToSpeech>, second: Arc<dyn TextToSpeech>) -> FallbackTts {
    FallbackTts::new(
        vec![("first".into(), first), ("second".into(), second)],
        FallbackConfig::default(),
        SpeechMetrics::default(),
    )
}

/// Speaks `text`; the pieces of the audio until `Done`, or the error.
async fn speak(tts: &FallbackTts, text: &str) -> Result<usize, TtsError> {
    let config = TtsConfig {
        voice: None,
        language: "en-US".into(),
        output: TtsOutput::Native,
    };
    let mut session = tts.open(config).await?;
    session.send_text(text).unwrap();
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
async fn azure_cut_mid_sentence_has_the_next_provider_speak_it() {
    let (fake, config) = azure().await;
    fake.fail_next_tts(TtsFault::DisconnectMidBody);
    let next = FakeTts::new(FakeTtsConfig::default());
    let chain = tts_chain(
        Arc::new(AzureTts::new(config).unwrap()),
        Arc::new(next.clone()),
    );
    let text = "Your balance is forty two dollars.";
    assert!(speak(&chain, text).await.unwrap() > 0);
    assert_eq!(fake.log().tts.len(), 1);
    assert_eq!(next.log().texts, [text]);
}

#[tokio::test]
async fn azure_as_fallback_speaks_for_a_failing_primary() {
    let (fake, config) = azure().await;
    let primary = FakeTts::new(FakeTtsConfig::default());
    primary.fail_next(FakeTtsFailure::Open(TtsError::Connect("down".into())));
    let chain = tts_chain(Arc::new(primary), Arc::new(AzureTts::new(config).unwrap()));
    assert!(speak(&chain, "Goodbye.").await.unwrap() > 0);
    assert_eq!(fake.log().tts[0].text, "Goodbye.");
}
