//! The Wyoming adapters against the real servers: Piper speaks, Whisper
//! understands what it said, at the rates a call uses.

use crate::support::{PROMPT, resample, synthesize, transcribe, words};
use vg_testkit::{WyomingOptions, WyomingServers};
use voice_gateway::application::ports::speech::SttSampleRate;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn piper_speaks_and_whisper_understands_it_at_8_and_16_khz() {
    let servers = WyomingServers::start_with(WyomingOptions {
        initial_prompt: Some(PROMPT.into()),
    })
    .unwrap();
    let spoken = synthesize(&servers.tts_uri(), "please transfer me to billing").await;
    assert_eq!(spoken.rate, 22050, "piper's native rate");
    let seconds = spoken.pcm.len() as f64 / 22050.0;
    assert!((0.8..4.0).contains(&seconds), "{seconds} s of speech");
    // The session's TTS first-byte timeout; Piper is warm, so far below it.
    assert!(spoken.time_to_first_audio.as_secs() < 5);

    for (rate, hz) in [
        (SttSampleRate::Hz16000, 16000),
        (SttSampleRate::Hz8000, 8000),
    ] {
        let pcm = resample(&spoken.pcm, 22050, hz);
        let (text, _) = transcribe(&servers.stt_uri(), &pcm, rate).await;
        let heard = words(&text);
        assert!(
            heard.iter().any(|w| w == "billing") && heard.iter().any(|w| w == "transfer"),
            "at {hz} Hz whisper heard {text:?}"
        );
    }
}
