//! The gateway's own overhead on the AWS adapters, against the loopback
//! fakes (which answer at once): connecting, an event from the wire to the
//! session, `finish()` to its `Final`, text to Polly's first audio. Ignored
//! by `make test`; `make bench-speech` runs it and, with `VG_BENCH_OUT`,
//! writes `<VG_BENCH_OUT>/<date>-aws-fakes.md`.

use std::time::{Duration, Instant, SystemTime};

use super::fake::{FakePolly, FakeTranscribe, Heard, Reply, test_credentials, transcript};
use super::sigv4::Stamp;
use super::*;
use crate::application::ports::speech::{
    SpeechToText, SttConfig, SttEvent, SttSampleRate, TextToSpeech, TtsConfig, TtsEvent, TtsOutput,
};

const ROUNDS: usize = 50;

fn summary(name: &str, mut v: Vec<Duration>) -> String {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let at = |q: f64| ms(v[((v.len() - 1) as f64 * q).round() as usize]);
    format!(
        "| {name} | {ROUNDS} | {:.2} | {:.2} | {:.2} |",
        at(0.5),
        at(0.95),
        at(1.0)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with make bench-speech"]
async fn bench_aws_overhead_against_fakes() {
    let mut fake = FakeTranscribe::start().await;
    let mut c = AwsConfig::new(test_credentials(), "us-east-1");
    c.transcribe_endpoint = Some(fake.url.clone());
    let stt = TranscribeStt::new(c.clone());
    let (mut open, mut interim, mut finals) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let t = Instant::now();
        let mut session = stt
            .open(SttConfig::new("en-US", SttSampleRate::Hz16000))
            .await
            .unwrap();
        open.push(t.elapsed());
        let mut call = fake.call().await;
        call.accept();
        for _ in 0..5 {
            session.push_audio(vec![100; 320]).unwrap();
        }
        assert!(matches!(call.heard().await, Some(Heard::Audio(_))));
        let t = Instant::now();
        call.send(&transcript("hello there", false, 0.0, 0.1));
        assert!(matches!(
            session.recv().await,
            Some(SttEvent::Interim { .. })
        ));
        interim.push(t.elapsed());
        let t = Instant::now();
        session.finish().unwrap();
        assert!(matches!(session.recv().await, Some(SttEvent::Final { .. })));
        finals.push(t.elapsed());
    }
    let replies = (0..ROUNDS)
        .map(|_| Reply::Pcm(vec![vec![1; 3200]]))
        .collect();
    let (_polly, url) = FakePolly::start(replies).await;
    c.polly_endpoint = Some(url);
    let tts = PollyTts::new(c).unwrap();
    let mut first_audio = Vec::new();
    for _ in 0..ROUNDS {
        let config = TtsConfig {
            voice: None,
            language: "en-US".into(),
            output: TtsOutput::Linear16 {
                sample_rate: 16_000,
            },
        };
        let mut session = tts.open(config).await.unwrap();
        let t = Instant::now();
        session.send_text("Hello there.").unwrap();
        assert!(matches!(session.recv().await, Some(TtsEvent::Audio(_))));
        first_audio.push(t.elapsed());
    }
    let date = Stamp::of(SystemTime::now()).date;
    let date = format!("{}-{}-{}", &date[..4], &date[4..6], &date[6..]);
    let report = [
        format!("# AWS adapters' own overhead against the loopback fakes ({date})\n"),
        "Debug build, `cargo test -p voice-gateway --lib -- --ignored bench_aws_overhead`, \
         2-core machine shared with other builds. The fakes answer at once, so these are \
         the gateway's costs: SigV4, event-stream framing, HTTP/2 or HTTP/1.1, JSON, the \
         session channels. The fake Transcribe sets TCP_NODELAY as a server would: \
         without it a result took 43 ms median to arrive (Nagle on its small frames \
         against delayed ACKs), a cost of the fake, not of the gateway.\n"
            .into(),
        "| step | rounds | median ms | p95 ms | max ms |".into(),
        "|---|---|---|---|---|".into(),
        summary(
            "Transcribe open (TCP + HTTP/2 handshake + signed request)",
            open,
        ),
        summary(
            "Transcribe result on the wire → `Interim` at the session",
            interim,
        ),
        summary("Transcribe `finish()` → `Final` (nothing pending)", finals),
        summary(
            "Polly text → first audio chunk (signed request, response head, body)",
            first_audio,
        ),
    ]
    .join("\n");
    println!("{report}");
    if let Some(dir) = std::env::var_os("VG_BENCH_OUT") {
        let path = std::path::Path::new(&dir).join(format!("{date}-aws-fakes.md"));
        std::fs::write(&path, report + "\n").unwrap();
    }
}
