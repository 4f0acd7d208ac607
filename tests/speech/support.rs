//! Speaking and listening through the gateway's Wyoming adapters.

use std::time::Duration;

use tokio::time::timeout;
use voice_gateway::adapter::speech::wyoming::{
    WyomingStt, WyomingSttConfig, WyomingTts, WyomingTtsConfig,
};
use voice_gateway::application::ports::speech::{
    SpeechToText, SttConfig, SttEvent, SttSampleRate, TextToSpeech, TtsAudio, TtsConfig, TtsEvent,
    TtsOutput,
};

/// What callers of these tests say; named in Whisper's initial prompt because
/// tiny.en mishears short domain words without it.
pub(crate) const PROMPT: &str = "Transfer, billing, person, agent, goodbye.";

/// Far beyond what either engine needs on a busy two-core machine.
const GUARD: Duration = Duration::from_secs(60);

/// Synthesised speech: mono PCM at its native rate, and when it began to come.
pub(crate) struct Spoken {
    pub(crate) pcm: Vec<i16>,
    pub(crate) rate: u32,
    pub(crate) time_to_first_audio: Duration,
}

/// Speaks `text` with the Piper server at `uri`.
pub(crate) async fn synthesize(uri: &str, text: &str) -> Spoken {
    let tts = WyomingTts::new(WyomingTtsConfig::new(uri));
    let config = TtsConfig {
        voice: None,
        language: "en-US".into(),
        output: TtsOutput::Native,
    };
    let mut session = tts.open(config).await.expect("piper answers");
    session.send_text(text).unwrap();
    session.finish().unwrap();
    let (mut pcm, mut rate) = (Vec::new(), 0);
    loop {
        match timeout(GUARD, session.recv()).await.expect("piper speaks") {
            Some(TtsEvent::Audio(chunk)) => {
                rate = chunk.sample_rate;
                match chunk.audio {
                    TtsAudio::Linear16(s) => pcm.extend(s),
                    TtsAudio::Mulaw(_) => panic!("piper sends linear PCM"),
                }
            }
            Some(TtsEvent::Done) => break,
            other => panic!("synthesis failed: {other:?}"),
        }
    }
    let time_to_first_audio = session.timing().time_to_first_audio().unwrap();
    Spoken {
        pcm,
        rate,
        time_to_first_audio,
    }
}

/// Transcribes `pcm` (8 or 16 kHz) with the Whisper server at `uri`: the
/// audio, then `finish()` as at the end of speech. Returns the text and the
/// time from `finish()` to the transcript. The audio goes in one-second
/// chunks: the session's queue holds 50 pushes, and a recording arrives all
/// at once rather than at the pace of a call.
pub(crate) async fn transcribe(uri: &str, pcm: &[i16], rate: SttSampleRate) -> (String, Duration) {
    let stt = WyomingStt::new(WyomingSttConfig::new(uri));
    let mut session = stt
        .open(SttConfig::new("en-US", rate))
        .await
        .expect("whisper answers");
    for frame in pcm.chunks(rate.hz() as usize) {
        session.push_audio(frame).unwrap();
    }
    session.finish().unwrap();
    loop {
        match timeout(GUARD, session.recv())
            .await
            .expect("whisper answers")
        {
            Some(SttEvent::Final { text, .. }) => {
                let waited = session.timing().finish_to_final().unwrap();
                return (text, waited);
            }
            Some(SttEvent::Error(e)) => panic!("transcription failed: {e}"),
            Some(_) => {}
            None => panic!("the session ended without a transcript"),
        }
    }
}

/// Resamples a whole utterance with the gateway's media core.
pub(crate) fn resample(pcm: &[i16], from: u32, to: u32) -> Vec<i16> {
    let mut r = media::resample::StreamResampler::new(from, to).unwrap();
    let mut out = Vec::new();
    r.push(pcm, |f| out.extend_from_slice(f)).unwrap();
    r.flush(|f| out.extend_from_slice(f)).unwrap();
    out
}

/// Lower-case words without punctuation. Apostrophes inside a word go too:
/// "Steven's" and "Stevens" sound the same, and which one Whisper writes is
/// spelling, not hearing.
pub(crate) fn words(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric())
                .chars()
                .filter(|c| !matches!(c, '\'' | '\u{2019}'))
                .collect::<String>()
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect()
}
