//! Against the real Azure Speech service, when `AZURE_SPEECH_KEY` and
//! `AZURE_SPEECH_REGION` are set; otherwise the test says it is skipped and
//! passes. Synthesises a sentence, then recognises that audio.

use std::time::Duration;

use tokio::time::timeout;

use super::*;
use crate::application::ports::speech::{
    SpeechToText, SttConfig, SttEvent, SttSampleRate, TextToSpeech, TtsAudio, TtsConfig, TtsEvent,
    TtsOutput,
};

#[tokio::test]
async fn live_azure_speaks_and_hears_a_sentence() {
    let config = AzureConfig::from_env();
    if config.api_key.is_empty() || config.region.is_empty() {
        println!("skipped: live Azure Speech test needs AZURE_SPEECH_KEY and AZURE_SPEECH_REGION");
        return;
    }
    let output = TtsOutput::Linear16 {
        sample_rate: 16_000,
    };
    let tts = AzureTts::new(config.clone()).unwrap();
    let tts_config = TtsConfig {
        voice: None,
        language: "en-US".into(),
        output,
    };
    let mut speaking = tts.open(tts_config).await.unwrap();
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
                TtsAudio::Mulaw(_) => panic!("asked for PCM"),
            },
            Some(TtsEvent::Done) => break,
            other => panic!("synthesis: {other:?}"),
        }
    }
    println!("azure tts: {} ms of audio", pcm.len() / 16);
    assert!(pcm.len() > 16_000 / 2, "at least half a second of speech");

    let stt = AzureStt::new(config);
    let mut session = stt
        .open(SttConfig::new("en-US", SttSampleRate::Hz16000))
        .await
        .unwrap();
    for frame in pcm.chunks(320) {
        session.push_audio(frame.to_vec()).unwrap();
        // Real time, roughly: the queue holds one second.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    session.finish().unwrap();
    loop {
        match timeout(Duration::from_secs(20), session.recv())
            .await
            .unwrap()
        {
            Some(SttEvent::Final { text, .. }) => {
                println!("azure stt: {text:?}");
                assert!(text.to_lowercase().contains("billing"), "{text}");
                return;
            }
            Some(SttEvent::Error(e)) => panic!("recognition: {e}"),
            None => panic!("session ended"),
            Some(_) => {}
        }
    }
}
