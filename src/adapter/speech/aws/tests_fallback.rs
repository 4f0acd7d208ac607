//! AWS in fallback chains: the fake fails mid-call and the next provider
//! takes the turn, the caller seeing no error.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::time::timeout;

use super::fake::{FakePolly, FakeTranscribe, Heard, Reply, test_credentials, transcript};
use super::*;
use crate::adapter::speech::fake::{FakeStt, FakeSttConfig, FakeTts, FakeTtsConfig, synthesize};
use crate::adapter::speech::fallback::{FallbackConfig, FallbackStt, FallbackTts, SpeechMetrics};
use crate::application::ports::speech::{
    SpeechToText, SttConfig, SttEvent, SttSampleRate, TextToSpeech, TtsConfig, TtsEvent, TtsOutput,
};

fn aws(transcribe: Option<String>, polly: Option<String>) -> AwsConfig {
    let mut c = AwsConfig::new(test_credentials(), "us-east-1");
    c.transcribe_endpoint = transcribe;
    c.polly_endpoint = polly;
    c
}

#[tokio::test]
async fn transcribe_dropping_mid_turn_hands_the_turn_to_the_next_provider() {
    let mut fake = FakeTranscribe::start().await;
    let metrics = SpeechMetrics::default();
    let providers: Vec<(String, Arc<dyn SpeechToText>)> = vec![
        (
            "aws".into(),
            Arc::new(TranscribeStt::new(aws(Some(fake.url.clone()), None))),
        ),
        (
            "fake".into(),
            Arc::new(FakeStt::new(FakeSttConfig::default())),
        ),
    ];
    let stt = FallbackStt::new(providers, FallbackConfig::default(), metrics.clone());
    let mut session = stt
        .open(SttConfig::new("en-US", SttSampleRate::Hz16000))
        .await
        .unwrap();
    let mut call = fake.call().await;
    call.accept();
    for _ in 0..5 {
        session.push_audio(vec![0; 320]).unwrap();
    }
    assert!(matches!(call.heard().await, Some(Heard::Audio(_))));
    call.send(&transcript("I would like", true, 0.0, 0.1));
    let event = timeout(Duration::from_secs(10), session.recv())
        .await
        .unwrap();
    assert!(matches!(event, Some(SttEvent::Interim { .. })), "{event:?}");
    // Transcribe goes away mid-sentence; the caller keeps talking.
    call.disconnect();
    let voice = synthesize("yes please", 16_000, Duration::from_millis(60));
    for frame in voice.chunks(320) {
        session.push_audio(frame.to_vec()).unwrap();
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    session.finish().unwrap();
    let final_text = loop {
        match timeout(Duration::from_secs(10), session.recv())
            .await
            .unwrap()
        {
            Some(SttEvent::Final { text, .. }) => break text,
            Some(SttEvent::Error(e)) => panic!("the caller saw the failure: {e}"),
            Some(_) => {}
            None => panic!("the session ended"),
        }
    };
    assert!(!final_text.is_empty());
    assert_eq!(metrics.fallbacks("stt", "aws"), 1);
}

#[tokio::test]
async fn polly_failing_mid_reply_hands_the_reply_to_the_next_provider() {
    let (tx, rx) = mpsc::channel(4);
    let (_fake, url) = FakePolly::start(vec![Reply::Live(rx)]).await;
    let metrics = SpeechMetrics::default();
    let providers: Vec<(String, Arc<dyn TextToSpeech>)> = vec![
        (
            "polly".into(),
            Arc::new(PollyTts::new(aws(None, Some(url))).unwrap()),
        ),
        (
            "fake".into(),
            Arc::new(FakeTts::new(FakeTtsConfig::default())),
        ),
    ];
    let tts = FallbackTts::new(providers, FallbackConfig::default(), metrics.clone());
    let config = TtsConfig {
        voice: None,
        language: "en-US".into(),
        output: TtsOutput::Linear16 {
            sample_rate: 16_000,
        },
    };
    let mut session = tts.open(config).await.unwrap();
    session.send_text("Your balance is ten euros.").unwrap();
    session.finish().unwrap();
    tx.send(Ok(Bytes::from(vec![1, 0, 2, 0]))).await.unwrap();
    let first = timeout(Duration::from_secs(10), session.recv())
        .await
        .unwrap();
    assert!(matches!(first, Some(TtsEvent::Audio(_))), "{first:?}");
    tx.send(Err(std::io::Error::other("connection reset")))
        .await
        .unwrap();
    let mut after = 0;
    loop {
        match timeout(Duration::from_secs(10), session.recv())
            .await
            .unwrap()
        {
            Some(TtsEvent::Audio(c)) => after += c.samples(),
            Some(TtsEvent::Done) => break,
            Some(TtsEvent::Error(e)) => panic!("the caller saw the failure: {e}"),
            None => panic!("the session ended"),
        }
    }
    assert!(after > 0, "the next provider spoke");
    assert_eq!(metrics.fallbacks("tts", "polly"), 1);
}
