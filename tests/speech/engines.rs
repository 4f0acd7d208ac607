//! The Wyoming adapters against the real servers: Piper speaks, Whisper
//! understands what it said, at the rates a call uses.

use crate::support::{PROMPT, resample, synthesize, transcribe, words};
use vg_testkit::{WyomingOptions, WyomingServers};
use voice_gateway::application::ports::speech::SttSampleRate;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn piper_speaks_and_whisper_understands_it_at_8_and_16_khz() {
    let servers = WyomingServers::start_with(WyomingOptions {
        initial_prompt: Some(PROMPT.into()),
        ..WyomingOptions::default()
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

/// The windowed Whisper server (`scripts/whisper-server.py`, what `make run`
/// starts) sizes the encoder's window to the utterance: a turn longer than
/// its shortest window (10 s) and one longer than Whisper's 30 s (decoded
/// long-form, in windows) both come back whole, at the call's 8 kHz.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_windowed_whisper_hears_long_turns_whole() {
    let servers = WyomingServers::start().unwrap();
    // One word of each sentence that tiny.en hears reliably.
    let sentences = [
        ("I ordered a pair of running shoes last week.", "shoes"),
        ("They still have not arrived at my house.", "house"),
        ("Can you tell me where the parcel is now?", "parcel"),
        ("My neighbour said a van came on Tuesday.", "tuesday"),
        ("Nobody rang the bell or left a card.", "bell"),
        ("I would like a refund if it is lost.", "refund"),
        ("Please send the answer to my email address.", "email"),
        ("Thank you for looking into this for me today.", "looking"),
        ("I will wait for your message this evening.", "evening"),
        (
            "If it helps, the order number is on the invoice.",
            "invoice",
        ),
        ("It was a birthday present for my brother.", "birthday"),
        (
            "He is running a marathon at the end of the month.",
            "marathon",
        ),
    ];
    let mut pcm = Vec::new();
    let mut turns = Vec::new();
    for (n, (sentence, _)) in sentences.iter().enumerate() {
        let spoken = synthesize(&servers.tts_uri(), sentence).await;
        pcm.extend(resample(&spoken.pcm, spoken.rate, 8000));
        // A breath between sentences.
        pcm.extend(std::iter::repeat_n(0i16, 4000));
        // A turn past the 10 s window, and one past Whisper's 30 s.
        let seconds = pcm.len() as f64 / 8000.0;
        let past_window = seconds > 12.0 && turns.is_empty();
        if past_window || n + 1 == sentences.len() {
            turns.push((n + 1, pcm.clone()));
        }
    }
    for (count, pcm) in turns {
        let seconds = pcm.len() as f64 / 8000.0;
        let (text, _) = transcribe(&servers.stt_uri(), &pcm, SttSampleRate::Hz8000).await;
        let heard = words(&text);
        let missed: Vec<_> = sentences[..count]
            .iter()
            .filter(|(_, word)| !heard.iter().any(|w| w == word))
            .map(|(_, word)| *word)
            .collect();
        assert!(
            missed.len() <= 1,
            "{seconds:.1} s of speech: missed {missed:?} in {text:?}"
        );
    }
    let seconds = pcm.len() as f64 / 8000.0;
    assert!(
        seconds > 30.0,
        "{seconds:.1} s: the long turn is longer than Whisper's window"
    );
}

/// The repeat cut of the windowed server (a short window makes Whisper say
/// the sentence's beginning again at its end), checked by the script itself.
#[test]
fn the_windowed_whisper_cuts_only_a_repeated_beginning() {
    let root = env!("CARGO_MANIFEST_DIR");
    let setup = std::process::Command::new("scripts/speech-setup.sh")
        .current_dir(root)
        .output()
        .expect("scripts/speech-setup.sh runs");
    assert!(setup.status.success(), "speech-setup failed");
    let python = String::from_utf8_lossy(&setup.stdout)
        .lines()
        .find_map(|l| {
            l.strip_prefix("PYTHON=")
                .map(|p| p.trim_matches('\'').to_owned())
        })
        .expect("speech-setup prints PYTHON");
    let out = std::process::Command::new(python)
        .current_dir(root)
        .args(["scripts/whisper-server.py", "--self-test"])
        .output()
        .expect("the venv's python runs");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
