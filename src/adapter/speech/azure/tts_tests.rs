//! Azure synthesis against the fake service on loopback.

use std::time::Duration;

use tokio::time::timeout;

use super::fake::{FakeAzure, TtsFault};
use super::*;
use crate::adapter::speech::deepgram::ApiKey;
use crate::application::ports::speech::{
    TextToSpeech, TtsAudio, TtsConfig, TtsError, TtsEvent, TtsOutput, TtsSession,
};

const KEY: &str = "az-test";

async fn setup(key: &str, tune: impl FnOnce(&mut AzureConfig)) -> (FakeAzure, AzureTts) {
    let fake = FakeAzure::start(KEY, &[]).await.unwrap();
    let mut config = AzureConfig {
        api_key: ApiKey::new(key),
        base_url: Some(fake.url.clone()),
        ..AzureConfig::default()
    };
    tune(&mut config);
    (fake, AzureTts::new(config).unwrap())
}

fn config(output: TtsOutput) -> TtsConfig {
    TtsConfig {
        voice: None,
        language: "en-US".into(),
        output,
    }
}

async fn next(session: &mut TtsSession) -> Option<TtsEvent> {
    timeout(Duration::from_secs(10), session.recv())
        .await
        .expect("an event in time")
}

/// Audio chunks until `Done` (`Ok`) or an error.
async fn drain(session: &mut TtsSession) -> (Vec<TtsAudio>, Result<(), TtsError>) {
    let mut audio = Vec::new();
    loop {
        match next(session).await {
            Some(TtsEvent::Audio(c)) => audio.push(c.audio),
            Some(TtsEvent::Done) => return (audio, Ok(())),
            Some(TtsEvent::Error(e)) => return (audio, Err(e)),
            None => return (audio, Err(TtsError::Closed)),
        }
    }
}

#[tokio::test]
async fn speaks_escaped_ssml_as_streamed_mulaw_by_default() {
    let (fake, tts) = setup(KEY, |_| {}).await;
    let mut session = tts.open(config(TtsOutput::Native)).await.unwrap();
    let text = "Tom & Jerry <said> \"hi\" it's 5 > 3";
    session.send_text(text).unwrap();
    session.send_text("Bye.").unwrap();
    session.finish().unwrap();
    let first = next(&mut session).await;
    let Some(TtsEvent::Audio(chunk)) = first else {
        panic!("audio first, got {first:?}")
    };
    assert_eq!((chunk.sample_rate, chunk.piece), (8_000, 0));
    assert!(matches!(chunk.audio, TtsAudio::Mulaw(_)));
    let (rest, done) = drain(&mut session).await;
    done.unwrap();
    // 40 ms a character of the fake's tone, both pieces.
    let bytes: usize = std::iter::once(&chunk.audio)
        .chain(&rest)
        .map(|a| match a {
            TtsAudio::Mulaw(b) => b.len(),
            TtsAudio::Linear16(_) => panic!("pcm"),
        })
        .sum();
    let chars = text.chars().count() + 4;
    assert_eq!(bytes, chars * 320);
    let log = fake.log();
    assert_eq!(log.violations, Vec::<String>::new());
    assert_eq!(log.tts.len(), 2);
    assert_eq!(log.tts[0].text, text);
    assert_eq!(log.tts[0].voice, "en-US-JennyNeural");
    assert_eq!(log.tts[0].language, "en-US");
    assert_eq!(log.tts[0].format, "raw-8khz-8bit-mono-mulaw");
}

#[tokio::test]
async fn linear_output_asks_for_pcm_at_the_rate() {
    let (fake, tts) = setup(KEY, |_| {}).await;
    let output = TtsOutput::Linear16 {
        sample_rate: 16_000,
    };
    let mut session = tts.open(config(output)).await.unwrap();
    session.send_text("Hello.").unwrap();
    session.finish().unwrap();
    let (audio, done) = drain(&mut session).await;
    done.unwrap();
    let samples: usize = audio
        .iter()
        .map(|a| match a {
            TtsAudio::Linear16(s) => s.len(),
            TtsAudio::Mulaw(_) => panic!("mulaw"),
        })
        .sum();
    assert_eq!(samples, 6 * 640);
    assert_eq!(fake.log().tts[0].format, "raw-16khz-16bit-mono-pcm");
}

#[tokio::test]
async fn a_configured_format_and_voice_win() {
    let (fake, tts) = setup(KEY, |c| {
        c.output_format = Some("raw-24khz-16bit-mono-pcm".into());
        c.voice = "de-DE-KatjaNeural".into();
    })
    .await;
    let mut session = tts.open(config(TtsOutput::Native)).await.unwrap();
    session.send_text("Hallo.").unwrap();
    session.finish().unwrap();
    let Some(TtsEvent::Audio(chunk)) = next(&mut session).await else {
        panic!("audio")
    };
    assert_eq!(chunk.sample_rate, 24_000);
    let log = fake.log();
    assert_eq!(log.tts[0].format, "raw-24khz-16bit-mono-pcm");
    assert_eq!(log.tts[0].voice, "de-DE-KatjaNeural");
}

#[tokio::test]
async fn a_bad_key_is_rejected() {
    let (_fake, tts) = setup("wrong", |_| {}).await;
    let mut session = tts.open(config(TtsOutput::Native)).await.unwrap();
    session.send_text("Hello.").unwrap();
    match drain(&mut session).await.1 {
        Err(TtsError::Rejected(m)) => assert!(m.contains("401"), "{m}"),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn throttling_and_server_errors_may_pass_bad_requests_not() {
    for (fault, retry) in [
        (TtsFault::Throttled, true),
        (TtsFault::Status(500), true),
        (TtsFault::Status(400), false),
    ] {
        let (fake, tts) = setup(KEY, |_| {}).await;
        fake.fail_next_tts(fault.clone());
        let mut session = tts.open(config(TtsOutput::Native)).await.unwrap();
        session.send_text("Hello.").unwrap();
        match (drain(&mut session).await.1, retry) {
            (Err(TtsError::Provider(_)), true) | (Err(TtsError::Rejected(_)), false) => {}
            other => panic!("{fault:?}: unexpected {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_body_cut_mid_stream_is_a_provider_error_after_the_audio_so_far() {
    let (fake, tts) = setup(KEY, |_| {}).await;
    fake.fail_next_tts(TtsFault::DisconnectMidBody);
    let mut session = tts.open(config(TtsOutput::Native)).await.unwrap();
    session
        .send_text("A sentence long enough to stream.")
        .unwrap();
    session.finish().unwrap();
    let (audio, end) = drain(&mut session).await;
    assert!(!audio.is_empty());
    match end {
        Err(TtsError::Provider(m)) => assert!(m.contains("reading audio"), "{m}"),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn an_unreachable_service_is_a_connect_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let config_ = AzureConfig {
        api_key: ApiKey::new(KEY),
        base_url: Some(url),
        ..AzureConfig::default()
    };
    let tts = AzureTts::new(config_).unwrap();
    let mut session = tts.open(config(TtsOutput::Native)).await.unwrap();
    session.send_text("Hello.").unwrap();
    assert!(matches!(
        drain(&mut session).await.1,
        Err(TtsError::Connect(_))
    ));
}

#[test]
fn urls_follow_the_region_or_the_override() {
    let c = AzureConfig {
        region: "westeurope".into(),
        ..AzureConfig::default()
    };
    assert_eq!(
        c.tts_url(),
        "https://westeurope.tts.speech.microsoft.com/cognitiveservices/v1"
    );
    assert_eq!(
        c.stt_url("de-DE").unwrap().as_str(),
        "wss://westeurope.stt.speech.microsoft.com/speech/recognition/conversation/\
         cognitiveservices/v1?language=de-DE&format=detailed"
    );
    let c = AzureConfig {
        base_url: Some("https://speech.example/".into()),
        ..AzureConfig::default()
    };
    assert!(
        c.stt_url("en-US")
            .unwrap()
            .as_str()
            .starts_with("wss://speech.example/speech/")
    );
    assert_eq!(c.tts_url(), "https://speech.example/cognitiveservices/v1");
}
