//! The gateway's own overhead on OpenAI speech-to-text (`make bench-speech`;
//! ignored by `make test`): against the loopback fake, which answers at
//! once, the time from `open()` to a configured session, and from `finish()`
//! to the first interim and to the final transcript, is what the adapter,
//! the WebSocket and the encoding (µ-law, or resampling to 24 kHz) cost.
//! Utterances are pushed as fast as the session takes them, not in real time;
//! `finish()` is called once the fake holds all of the utterance's audio (as
//! in a call, where audio flows in real time ahead of the end of speech), so
//! the figures are the end-of-utterance path: commit → transcript.

use std::time::{Duration, Instant};

use crate::openai_fake::{FakeOpenAi, Fault};
use voice_gateway::adapter::speech::deepgram::ApiKey;
use voice_gateway::adapter::speech::openai::{OpenAiStt, OpenAiSttConfig, SttMode};
use voice_gateway::application::ports::speech::{
    SpeechToText, SttConfig, SttEvent, SttSampleRate, SttSession,
};

const SESSIONS: usize = 20;
const UTTERANCES: usize = 10;
/// 800 ms: 40 frames, within the session's queue of 50.
const FRAMES: usize = 40;
const TRANSCRIPT: &str = "I would like to speak to someone about my bill";

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `p50 / p95 / max` in milliseconds.
fn summary(mut v: Vec<Duration>) -> String {
    v.sort();
    let at = |q: f64| ms(v[((v.len() - 1) as f64 * q).round() as usize]);
    format!(
        "p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms (n = {})",
        at(0.5),
        at(0.95),
        at(1.0),
        v.len()
    )
}

struct Figures {
    open: Vec<Duration>,
    first_interim: Vec<Duration>,
    last: Vec<Duration>,
}

/// Audio bytes 800 ms make on the wire.
fn wire_bytes(mode: SttMode, rate: SttSampleRate) -> usize {
    match (mode, rate) {
        (SttMode::Rest, _) => 0,
        (_, SttSampleRate::Hz8000) => FRAMES * 160,
        (_, SttSampleRate::Hz16000) => FRAMES * 960,
    }
}

async fn utterance(
    fake: &FakeOpenAi,
    session: &mut SttSession,
    (mode, rate): (SttMode, SttSampleRate),
) -> (Option<Duration>, Duration) {
    let per_frame = rate.hz() as usize / 50;
    let tone: Vec<i16> = (0..per_frame)
        .map(|i| ((i as f64 * 0.3).sin() * 8000.0) as i16)
        .collect();
    let target = fake.log().appended_bytes + wire_bytes(mode, rate);
    for _ in 0..FRAMES {
        session.push_audio(tone.clone()).unwrap();
    }
    while fake.log().appended_bytes < target {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    session.finish().unwrap();
    let finished = Instant::now();
    let mut first = None;
    loop {
        match session.recv().await {
            Some(SttEvent::Interim { .. }) => {
                first.get_or_insert_with(|| finished.elapsed());
            }
            Some(SttEvent::Final { text, .. }) => {
                assert_eq!(text, TRANSCRIPT);
                return (first, finished.elapsed());
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// `wire`: how the audio travels (REST also when the realtime endpoint is down).
async fn run(fake: &FakeOpenAi, mode: SttMode, rate: SttSampleRate, wire: SttMode) -> Figures {
    let stt = OpenAiStt::new(OpenAiSttConfig {
        api_key: ApiKey::new("sk-bench"),
        base_url: fake.url.clone(),
        mode,
        ..OpenAiSttConfig::default()
    })
    .unwrap();
    let mut f = Figures {
        open: Vec::new(),
        first_interim: Vec::new(),
        last: Vec::new(),
    };
    for _ in 0..SESSIONS {
        let opened = Instant::now();
        let mut session = stt.open(SttConfig::new("en-US", rate)).await.unwrap();
        f.open.push(opened.elapsed());
        for _ in 0..UTTERANCES {
            let (first, last) = utterance(fake, &mut session, (wire, rate)).await;
            f.first_interim.extend(first);
            f.last.push(last);
        }
        session.cancel();
    }
    f
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with make bench-speech"]
async fn bench_openai_stt_overhead() {
    let fake = FakeOpenAi::start("sk-bench").await;
    fake.set_default_transcript(TRANSCRIPT);
    for (mode, rate, what) in [
        (
            SttMode::Realtime,
            SttSampleRate::Hz8000,
            "realtime, 8 kHz → g711_ulaw",
        ),
        (
            SttMode::Realtime,
            SttSampleRate::Hz16000,
            "realtime, 16 kHz → 24 kHz pcm16",
        ),
        (SttMode::Rest, SttSampleRate::Hz8000, "rest, 8 kHz WAV"),
    ] {
        let f = run(&fake, mode, rate, mode).await;
        println!("openai stt ({what}) against the loopback fake:");
        if mode == SttMode::Realtime {
            println!("  open → session configured: {}", summary(f.open));
            println!("  finish → first interim:     {}", summary(f.first_interim));
        }
        println!("  finish → final:             {}", summary(f.last));
    }
    // The realtime endpoint down: each open pays the refused upgrade, then REST.
    fake.set_fault(Some(Fault::RealtimeDown));
    let f = run(
        &fake,
        SttMode::Realtime,
        SttSampleRate::Hz8000,
        SttMode::Rest,
    )
    .await;
    println!("openai stt (realtime refused with 503 → rest) against the loopback fake:");
    println!("  open (refused upgrade):     {}", summary(f.open));
    println!("  finish → final:             {}", summary(f.last));
}
