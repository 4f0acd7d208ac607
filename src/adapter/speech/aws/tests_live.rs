//! Against real AWS, only when `AWS_ACCESS_KEY_ID` and `AWS_REGION` are set
//! (otherwise it says it is skipped and passes): Polly speaks a sentence and
//! Transcribe hears it back.

use std::time::Duration;

use tokio::time::timeout;

use super::credentials::{Explicit, ProcessEnv, resolve};
use super::*;
use crate::application::ports::speech::{
    SpeechToText, SttConfig, SttEvent, SttSampleRate, TextToSpeech, TtsAudio, TtsConfig, TtsEvent,
    TtsOutput,
};

#[tokio::test]
async fn live_polly_speaks_and_transcribe_hears_it() {
    let (Ok(_), Ok(region)) = (
        std::env::var("AWS_ACCESS_KEY_ID"),
        std::env::var("AWS_REGION"),
    ) else {
        eprintln!(
            "skipped: live AWS test (set AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_REGION to run it)"
        );
        return;
    };
    let creds = resolve(&Explicit::default(), &ProcessEnv).expect("credentials");
    let config = AwsConfig::new(creds, region);
    let tts = PollyTts::new(config.clone()).unwrap();
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
            Some(TtsEvent::Audio(c)) => {
                let TtsAudio::Linear16(s) = c.audio else {
                    panic!("pcm")
                };
                pcm.extend(s);
            }
            Some(TtsEvent::Done) => break,
            other => panic!("polly: {other:?}"),
        }
    }
    assert!(pcm.len() > 16_000 / 2, "half a second of speech at least");
    let stt = TranscribeStt::new(config);
    let mut hearing = stt
        .open(SttConfig::new("en-US", SttSampleRate::Hz16000))
        .await
        .unwrap();
    // Real time, as a call would send it, then a second of silence.
    pcm.extend(std::iter::repeat_n(0, 16_000));
    for frame in pcm.chunks(320) {
        hearing.push_audio(frame.to_vec()).unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    hearing.finish().unwrap();
    let text = loop {
        match timeout(Duration::from_secs(20), hearing.recv())
            .await
            .unwrap()
        {
            Some(SttEvent::Final { text, .. }) => break text,
            Some(SttEvent::Error(e)) => panic!("transcribe: {e}"),
            Some(_) => {}
            None => panic!("transcribe ended"),
        }
    };
    eprintln!("transcribe heard: {text:?}");
    assert!(text.to_lowercase().contains("billing"), "{text}");
}
