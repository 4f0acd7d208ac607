//! Figures of the local engines on this machine (`make bench-speech`; ignored
//! by `make test`): Piper's time to first audio, and Whisper's real-time
//! factor (processing time after the end of speech ÷ speech duration, which
//! is the whole cost for Wyoming STT: it transcribes only at `audio-stop`).

use std::time::Duration;

use crate::support::{PROMPT, resample, synthesize, transcribe};
use vg_testkit::{WyomingOptions, WyomingServers};
use voice_gateway::application::ports::speech::SttSampleRate;

const SENTENCES: &[&str] = &[
    "Please transfer me to billing.",
    "Hello, this is the voice gateway's built-in assistant. How can I help you?",
    "I would like to check the balance on my account and then speak to a person about a refund.",
    "Goodbye.",
];
const ROUNDS: usize = 3;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with make bench-speech"]
async fn bench_local_engines() {
    let servers = WyomingServers::start_with(WyomingOptions {
        initial_prompt: Some(PROMPT.into()),
        ..WyomingOptions::default()
    })
    .unwrap();
    let mut ttfa = Vec::new();
    // [cold (first round, right after start), warm]: (speech, processing)
    let mut rtf = [(Duration::ZERO, Duration::ZERO); 2];
    for round in 0..ROUNDS {
        for text in SENTENCES {
            let spoken = synthesize(&servers.tts_uri(), text).await;
            ttfa.push(spoken.time_to_first_audio);
            let pcm = resample(&spoken.pcm, spoken.rate, 16000);
            let length = Duration::from_secs_f64(pcm.len() as f64 / 16000.0);
            let (heard, took) = transcribe(&servers.stt_uri(), &pcm, SttSampleRate::Hz16000).await;
            let slot = &mut rtf[usize::from(round > 0)];
            slot.0 += length;
            slot.1 += took;
            if round == 0 {
                println!(
                    "  {:>5.0} ms speech → Whisper {:>5.0} ms (RTF {:.2}): {heard:?}",
                    ms(length),
                    ms(took),
                    took.as_secs_f64() / length.as_secs_f64()
                );
            }
        }
    }
    ttfa.sort();
    let mean = ttfa.iter().sum::<Duration>() / ttfa.len() as u32;
    println!(
        "local TTS (wyoming-piper, en_US-joe-medium): time to first audio over {} sentences: \
         median {:.0} ms, mean {:.0} ms, max {:.0} ms",
        ttfa.len(),
        ms(ttfa[ttfa.len() / 2]),
        ms(mean),
        ms(*ttfa.last().unwrap())
    );
    for (name, (audio, busy)) in ["first round", "later rounds"].iter().zip(rtf) {
        println!(
            "local STT (wyoming-faster-whisper, tiny.en int8), {name}: real-time factor {:.2} \
             ({:.1} s of speech in {:.1} s after end of speech)",
            busy.as_secs_f64() / audio.as_secs_f64(),
            audio.as_secs_f64(),
            busy.as_secs_f64()
        );
    }
}
