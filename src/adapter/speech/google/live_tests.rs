//! Against the real Google: runs only with credentials in the environment
//! (`GOOGLE_APPLICATION_CREDENTIALS` or `GOOGLE_API_KEY`, and a project:
//! the key file's or `GOOGLE_CLOUD_PROJECT`); otherwise it says it is skipped
//! and passes. Google's voice speaks a sentence, Google's recogniser hears it.

use std::time::Duration;

use tokio::time::timeout;

use super::*;
use crate::adapter::speech::deepgram::ApiKey;
use crate::application::ports::speech::{
    SpeechToText, SttConfig, SttEvent, SttSampleRate, TextToSpeech, TtsAudio, TtsConfig, TtsEvent,
    TtsOutput,
};

fn live_config() -> Option<GoogleConfig> {
    let env = |v: &str| std::env::var(v).ok().filter(|s| !s.is_empty());
    let (credentials, file_project) = if let Some(path) = env("GOOGLE_APPLICATION_CREDENTIALS") {
        let project = auth::ServiceAccountKey::load(path.as_ref())
            .ok()
            .and_then(|k| k.project_id);
        (GoogleCredentials::ServiceAccount(path.into()), project)
    } else {
        (
            GoogleCredentials::ApiKey(ApiKey::new(env("GOOGLE_API_KEY")?)),
            None,
        )
    };
    let project = env("GOOGLE_CLOUD_PROJECT").or(file_project)?;
    Some(GoogleConfig::new(credentials, project))
}

#[tokio::test]
async fn live_google_speaks_and_hears_a_sentence() {
    let Some(config) = live_config() else {
        eprintln!(
            "skipped: live Google test (set GOOGLE_APPLICATION_CREDENTIALS or GOOGLE_API_KEY, \
             and GOOGLE_CLOUD_PROJECT unless the key file names its project)"
        );
        return;
    };
    let tts = GoogleTts::new(config.clone()).unwrap();
    let mut speaking = tts
        .open(TtsConfig {
            voice: None,
            language: "en-US".into(),
            output: TtsOutput::Linear16 {
                sample_rate: 16_000,
            },
        })
        .await
        .unwrap();
    speaking
        .send_text("Please transfer me to billing.")
        .unwrap();
    speaking.finish().unwrap();
    let mut pcm = Vec::new();
    loop {
        match timeout(Duration::from_secs(20), speaking.recv())
            .await
            .unwrap()
        {
            Some(TtsEvent::Audio(c)) => match c.audio {
                TtsAudio::Linear16(s) => pcm.extend(s),
                TtsAudio::Mulaw(_) => panic!("asked for linear16"),
            },
            Some(TtsEvent::Done) => break,
            other => panic!("synthesis: {other:?}"),
        }
    }
    let stt = GoogleStt::new(config).unwrap();
    let mut hearing = stt
        .open(SttConfig::new("en-US", SttSampleRate::Hz16000))
        .await
        .unwrap();
    for frame in pcm.chunks(320) {
        hearing.push_audio(frame.to_vec()).unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    hearing.finish().unwrap();
    loop {
        match timeout(Duration::from_secs(20), hearing.recv())
            .await
            .unwrap()
        {
            Some(SttEvent::Final { text, .. }) => {
                assert!(text.to_lowercase().contains("billing"), "{text:?}");
                return;
            }
            Some(SttEvent::Error(e)) => panic!("recognition: {e}"),
            Some(_) => {}
            None => panic!("the session ended without a final"),
        }
    }
}
