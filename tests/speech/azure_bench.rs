//! The gateway's own overhead with Azure Speech (`make bench-speech`;
//! ignored by `make test`): the adapters against the fake Azure service on
//! loopback, which answers at once, so every figure is the adapter's
//! framing, the WebSocket or HTTP round trip and the session plumbing.
//!
//! - STT open: `open()` → the WebSocket is up.
//! - first interim: the push of the audio frame that completes 200 ms of
//!   speech in a turn (the fake's hypothesis threshold) → `Interim`.
//! - final: `finish()` → `Final` (empty audio message, `speech.phrase`,
//!   `turn.end`).
//! - TTS first audio: `send_text` → the first audio chunk (HTTP request,
//!   SSML, first chunk of the chunked body).
//!
//! Writes `<VG_BENCH_OUT>/<date>-azure.md` when that variable is set.

use std::time::{Duration, Instant};

use tokio::time::timeout;
use voice_gateway::adapter::speech::azure::fake::FakeAzure;
use voice_gateway::adapter::speech::azure::{AzureConfig, AzureStt, AzureTts};
use voice_gateway::adapter::speech::deepgram::ApiKey;
use voice_gateway::application::ports::speech::{
    SpeechToText, SttConfig, SttEvent, SttSampleRate, SttSession, TextToSpeech, TtsConfig,
    TtsEvent, TtsOutput,
};

const ROUNDS: usize = 200;
/// 20 ms frames at 16 kHz.
const FRAME: usize = 320;

fn tone(samples: usize) -> Vec<i16> {
    (0..samples)
        .map(|i| (9000.0 * (std::f64::consts::TAU * 300.0 * i as f64 / 16_000.0).sin()) as i16)
        .collect()
}

async fn until(session: &mut SttSession, want: fn(&SttEvent) -> bool) -> Instant {
    loop {
        let event = timeout(Duration::from_secs(10), session.recv())
            .await
            .expect("an event in time")
            .expect("the session goes on");
        assert!(!matches!(event, SttEvent::Error(_)), "{event:?}");
        if want(&event) {
            return Instant::now();
        }
    }
}

/// `(open, first interim, final)` of one session with one turn.
async fn stt_round(stt: &AzureStt) -> [Duration; 3] {
    let opening = Instant::now();
    let mut session = stt
        .open(SttConfig::new("en-US", SttSampleRate::Hz16000))
        .await
        .unwrap();
    let opened = opening.elapsed();
    let voice = tone(FRAME * 10);
    let mut last_push = Instant::now();
    for frame in voice.chunks(FRAME) {
        last_push = Instant::now();
        session.push_audio(frame.to_vec()).unwrap();
    }
    let interim = until(&mut session, |e| matches!(e, SttEvent::Interim { .. })).await - last_push;
    let finishing = Instant::now();
    session.finish().unwrap();
    let done = until(&mut session, |e| matches!(e, SttEvent::Final { .. })).await;
    [opened, interim, done - finishing]
}

async fn tts_round(tts: &AzureTts) -> Duration {
    let config = TtsConfig {
        voice: None,
        language: "en-US".into(),
        output: TtsOutput::Native,
    };
    let mut session = tts.open(config).await.unwrap();
    let sent = Instant::now();
    session
        .send_text("Your balance is forty two dollars.")
        .unwrap();
    session.finish().unwrap();
    let event = timeout(Duration::from_secs(10), session.recv()).await;
    let first = match event.unwrap() {
        Some(TtsEvent::Audio(_)) => sent.elapsed(),
        other => panic!("unexpected {other:?}"),
    };
    while let Some(event) = session.recv().await {
        if matches!(event, TtsEvent::Done) {
            break;
        }
    }
    first
}

fn summary(name: &str, mut xs: Vec<Duration>) -> String {
    xs.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let at = |q: f64| xs[((xs.len() - 1) as f64 * q).round() as usize];
    format!(
        "| {name} | {} | {:.2} | {:.2} | {:.2} | {:.2} |",
        xs.len(),
        ms(at(0.5)),
        ms(at(0.95)),
        ms(at(0.99)),
        ms(*xs.last().unwrap())
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with make bench-speech"]
async fn bench_azure_against_fake() {
    let fake = FakeAzure::start("bench", &["transfer me to billing"])
        .await
        .unwrap();
    let config = AzureConfig {
        api_key: ApiKey::new("bench"),
        base_url: Some(fake.url.clone()),
        ..AzureConfig::default()
    };
    let (stt, tts) = (
        AzureStt::new(config.clone()),
        AzureTts::new(config).unwrap(),
    );
    let (mut opens, mut interims, mut finals, mut audio) = (vec![], vec![], vec![], vec![]);
    for _ in 0..ROUNDS {
        let [o, i, f] = stt_round(&stt).await;
        opens.push(o);
        interims.push(i);
        finals.push(f);
        audio.push(tts_round(&tts).await);
    }
    assert_eq!(fake.log().violations, Vec::<String>::new());
    let table = [
        "| Azure adapter against the fake (loopback) | n | p50 ms | p95 ms | p99 ms | max ms |"
            .to_owned(),
        "|---|---|---|---|---|---|".to_owned(),
        summary("STT open (WebSocket handshake)", opens),
        summary("STT first interim (frame → Interim)", interims),
        summary("STT final (finish → Final)", finals),
        summary("TTS first audio (send_text → chunk)", audio),
    ]
    .join("\n");
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let report = format!(
        "# Azure Speech adapters: the gateway's own overhead\n\n\
         `cargo test -p voice-gateway --test speech -- --ignored bench_azure_against_fake` \
         (debug build, 2 worker threads); the fake answers at once, so these are the \
         adapter's framing, loopback round trips and session plumbing, not Azure's latency.\n\n\
         {table}\n\nLoad average at the end: {load}"
    );
    println!("{report}");
    if let Some(dir) = std::env::var_os("VG_BENCH_OUT") {
        let date = humantime::format_rfc3339(std::time::SystemTime::now()).to_string();
        let path = std::path::Path::new(&dir).join(format!("{}-azure.md", &date[..10]));
        std::fs::write(&path, report).unwrap();
    }
}
