//! The gateway's own overhead with Google speech (`make bench-speech`;
//! ignored by `make test`): time to first interim and from `finish()` to the
//! final with the Speech-to-Text adapter, and time to first audio with the
//! Text-to-Speech adapter, against loopback fakes that answer at once, so
//! the figures are the adapter's (gRPC/HTTP, encoding, auth header, stream
//! per utterance) and nothing of Google's. Writes
//! `<VG_BENCH_OUT>/<date>-google.md` when `VG_BENCH_OUT` is set.

use std::time::{Duration, Instant};

use crate::google_fake::{KEY, Stt, fake_stt, fake_tts};
use voice_gateway::adapter::speech::deepgram::ApiKey;
use voice_gateway::adapter::speech::google::{
    GoogleConfig, GoogleCredentials, GoogleStt, GoogleTts,
};
use voice_gateway::application::ports::speech::{
    SpeechToText, SttConfig, SttEvent, SttSampleRate, TextToSpeech, TtsConfig, TtsEvent, TtsOutput,
};

const ROUNDS: usize = 100;

fn tone(samples: usize) -> Vec<i16> {
    (0..samples)
        .map(|i| (9000.0 * (2.0 * std::f64::consts::PI * 300.0 * i as f64 / 8000.0).sin()) as i16)
        .collect()
}

/// Median, p95 and max in ms.
fn summary(mut d: Vec<Duration>) -> String {
    d.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    format!(
        "median {:.2} ms, p95 {:.2} ms, max {:.2} ms (n = {})",
        ms(d[d.len() / 2]),
        ms(d[d.len() * 95 / 100]),
        ms(d[d.len() - 1]),
        d.len()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with make bench-speech"]
async fn bench_google_adapters_against_fakes() {
    let (stt_url, _) = fake_stt(Stt::Hears).await;
    let (tts_url, _) = fake_tts().await;
    let config = GoogleConfig {
        stt_endpoint: stt_url,
        tts_endpoint: tts_url,
        ..GoogleConfig::new(GoogleCredentials::ApiKey(ApiKey::new(KEY)), "p")
    };
    let stt = GoogleStt::new(config.clone()).unwrap();
    let mut session = stt
        .open(SttConfig::new("en-US", SttSampleRate::Hz8000))
        .await
        .unwrap();
    let (mut interim, mut fin) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let started = Instant::now();
        session.push_audio(tone(160)).unwrap();
        loop {
            match session.recv().await.unwrap() {
                SttEvent::Interim { .. } => break,
                SttEvent::Error(e) => panic!("{e}"),
                _ => {}
            }
        }
        interim.push(started.elapsed());
        let finishing = Instant::now();
        session.finish().unwrap();
        loop {
            match session.recv().await.unwrap() {
                SttEvent::Final { text, .. } => {
                    assert_eq!(text, "hello google");
                    break;
                }
                SttEvent::Error(e) => panic!("{e}"),
                _ => {}
            }
        }
        fin.push(finishing.elapsed());
    }
    let tts = GoogleTts::new(config).unwrap();
    let mut first_audio = Vec::new();
    for _ in 0..ROUNDS {
        let mut speaking = tts
            .open(TtsConfig {
                voice: None,
                language: "en-US".into(),
                output: TtsOutput::Mulaw8k,
            })
            .await
            .unwrap();
        let started = Instant::now();
        speaking.send_text("Your balance is ten dollars.").unwrap();
        speaking.finish().unwrap();
        match speaking.recv().await.unwrap() {
            TtsEvent::Audio(_) => first_audio.push(started.elapsed()),
            other => panic!("{other:?}"),
        }
        while !matches!(speaking.recv().await, Some(TtsEvent::Done) | None) {}
    }
    let date = vg_testkit::faults::today();
    let md = format!(
        "# Google speech adapters against loopback fakes, {date}\n\n\
         `make bench-speech`: the gateway's own overhead (the fakes answer at once), \
         the test profile (unoptimised), two cores shared with other builds; load average: {}\n\n\
         - STT first loud frame pushed → first interim (a new gRPC stream per utterance, \
         opened on its first audio): {}\n\
         - STT `finish()` → final (half-close, the fake's last result, end of stream): {}\n\
         - TTS sentence sent → first audio (`text:synthesize`, base64, WAV stripped): {}\n",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim(),
        summary(interim),
        summary(fin),
        summary(first_audio),
    );
    println!("{md}");
    if let Some(dir) = std::env::var_os("VG_BENCH_OUT") {
        std::fs::write(
            std::path::Path::new(&dir).join(format!("{date}-google.md")),
            md,
        )
        .unwrap();
    }
}
