//! OpenAI STT against the loopback fake of the Realtime and REST APIs.

use std::time::Duration;

use serde_json::json;
use tokio::time::timeout;

use super::fake_server::{FakeOpenAi, Fault};
use super::*;
use crate::adapter::speech::deepgram::ApiKey;
use crate::application::ports::speech::{
    SpeechToText, SttConfig, SttError, SttEvent, SttSampleRate, SttSession,
};

async fn setup(tune: impl FnOnce(&mut OpenAiSttConfig)) -> (FakeOpenAi, OpenAiStt) {
    let fake = FakeOpenAi::start("sk-test").await;
    let mut config = OpenAiSttConfig {
        api_key: ApiKey::new("sk-test"),
        base_url: fake.url.clone(),
        ..OpenAiSttConfig::default()
    };
    tune(&mut config);
    (fake, OpenAiStt::new(config).unwrap())
}

async fn open(stt: &OpenAiStt, rate: SttSampleRate) -> Result<SttSession, SttError> {
    timeout(
        Duration::from_secs(10),
        stt.open(SttConfig::new("en-US", rate)),
    )
    .await
    .expect("open in time")
}

async fn next(session: &mut SttSession) -> Option<SttEvent> {
    timeout(Duration::from_secs(10), session.recv())
        .await
        .expect("an event in time")
}

/// `ms` of a 440 Hz tone at `rate`, in 20 ms frames.
fn speak(session: &mut SttSession, rate: SttSampleRate, ms: usize) -> Vec<i16> {
    let per_frame = rate.hz() as usize / 50;
    let all: Vec<i16> = (0..per_frame * ms / 20)
        .map(|i| {
            let t = i as f64 / f64::from(rate.hz());
            ((t * 440.0 * std::f64::consts::TAU).sin() * 8000.0) as i16
        })
        .collect();
    for frame in all.chunks(per_frame) {
        session.push_audio(frame.to_vec()).unwrap();
    }
    all
}

async fn final_text(session: &mut SttSession) -> String {
    loop {
        match next(session).await {
            Some(SttEvent::Final { text, .. }) => return text,
            Some(SttEvent::Interim { .. } | SttEvent::SpeechStarted { .. }) => {}
            other => panic!("expected a final, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn narrow_band_streams_ulaw_and_reports_deltas_then_the_final() {
    let (fake, stt) = setup(|_| {}).await;
    fake.script(&["transfer me to billing"]);
    let mut session = open(&stt, SttSampleRate::Hz8000).await.unwrap();
    speak(&mut session, SttSampleRate::Hz8000, 200);
    session.finish().unwrap();
    let mut interims = Vec::new();
    let (text, start, end) = loop {
        match next(&mut session).await {
            Some(SttEvent::Interim { text, .. }) => interims.push(text),
            Some(SttEvent::Final {
                text, start, end, ..
            }) => break (text, start, end),
            other => panic!("unexpected {other:?}"),
        }
    };
    assert_eq!(
        interims,
        [
            "transfer",
            "transfer me",
            "transfer me to",
            "transfer me to billing"
        ]
    );
    assert_eq!(text, "transfer me to billing");
    assert_eq!((start, end), (Duration::ZERO, Duration::from_millis(200)));
    let log = fake.log();
    assert_eq!(
        log.sessions,
        [json!({
            "input_audio_format": "g711_ulaw",
            "input_audio_transcription": {"model": "gpt-4o-transcribe", "language": "en"},
            "turn_detection": null,
        })]
    );
    // 200 ms of µ-law at 8 kHz: one byte a sample.
    assert_eq!(log.committed_bytes, [1_600]);
    assert!(log.rest.is_empty());
}

#[tokio::test]
async fn wide_band_is_resampled_to_24_khz_pcm16_and_utterances_follow_in_order() {
    let (fake, stt) = setup(|c| c.model = "whisper-1".into()).await;
    fake.script(&["first", "second"]);
    let mut session = open(&stt, SttSampleRate::Hz16000).await.unwrap();
    speak(&mut session, SttSampleRate::Hz16000, 200);
    session.finish().unwrap();
    speak(&mut session, SttSampleRate::Hz16000, 300);
    session.finish().unwrap();
    assert_eq!(final_text(&mut session).await, "first");
    // whisper-1 sends the transcript as one delta: one interim, then the final.
    let Some(SttEvent::Interim { text, .. }) = next(&mut session).await else {
        panic!("an interim")
    };
    assert_eq!(text, "second");
    let Some(SttEvent::Final { text, start, .. }) = next(&mut session).await else {
        panic!("a second final")
    };
    assert_eq!(
        (text.as_str(), start),
        ("second", Duration::from_millis(200))
    );
    let log = fake.log();
    assert_eq!(log.sessions[0]["input_audio_format"], "pcm16");
    // 24 kHz, two bytes a sample: 48 bytes a millisecond.
    assert_eq!(log.committed_bytes, [9_600, 14_400]);
}

#[tokio::test]
async fn an_utterance_under_100_ms_is_cleared_not_committed_and_answered_empty() {
    let (fake, stt) = setup(|_| {}).await;
    fake.script(&["hello there"]);
    let mut session = open(&stt, SttSampleRate::Hz8000).await.unwrap();
    speak(&mut session, SttSampleRate::Hz8000, 200);
    session.finish().unwrap();
    speak(&mut session, SttSampleRate::Hz8000, 40);
    session.finish().unwrap();
    assert_eq!(final_text(&mut session).await, "hello there");
    assert_eq!(final_text(&mut session).await, "");
    // A finish with no audio at all is answered too.
    session.push_audio(Vec::<i16>::new()).unwrap();
    session.finish().unwrap();
    assert_eq!(final_text(&mut session).await, "");
    let log = fake.log();
    assert_eq!((log.committed_bytes.len(), log.clears), (1, 1));
}

#[tokio::test]
async fn a_bad_key_is_refused_at_open_without_a_rest_retry() {
    let (fake, stt) = setup(|c| c.api_key = ApiKey::new("sk-wrong")).await;
    match open(&stt, SttSampleRate::Hz8000).await {
        Err(SttError::Rejected(m)) => assert!(m.contains("401"), "{m}"),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(fake.log().unauthorized, 1);
}

#[tokio::test]
async fn a_rate_limit_error_event_fails_the_open() {
    let (fake, stt) = setup(|_| {}).await;
    fake.set_fault(Some(Fault::RateLimited));
    match open(&stt, SttSampleRate::Hz8000).await {
        Err(SttError::Provider(m)) => assert!(m.contains("rate_limit_exceeded"), "{m}"),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(fake.log().rest.len(), 0);
}

#[tokio::test]
async fn a_mid_stream_disconnect_is_a_provider_error() {
    let (fake, stt) = setup(|_| {}).await;
    fake.set_fault(Some(Fault::DisconnectAfterAppends(3)));
    let mut session = open(&stt, SttSampleRate::Hz8000).await.unwrap();
    // Mid-utterance: nothing committed, nothing to rescue.
    speak(&mut session, SttSampleRate::Hz8000, 200);
    assert!(
        matches!(
            next(&mut session).await,
            Some(SttEvent::Error(SttError::Provider(_)))
        ),
        "a provider error"
    );
    assert_eq!(session.recv().await, None);
}

#[tokio::test]
async fn a_failed_transcription_is_retried_over_rest_then_reported() {
    let (fake, stt) = setup(|_| {}).await;
    fake.set_fault(Some(Fault::TranscriptionFails));
    fake.script(&["rescued words"]);
    let mut session = open(&stt, SttSampleRate::Hz8000).await.unwrap();
    let said = speak(&mut session, SttSampleRate::Hz8000, 200);
    session.finish().unwrap();
    // The turn keeps its words: the kept audio went over REST.
    let Some(SttEvent::Final { text, end, .. }) = next(&mut session).await else {
        panic!("a final")
    };
    assert_eq!(
        (text.as_str(), end),
        ("rescued words", Duration::from_millis(200))
    );
    assert_eq!(wav_of(&fake.log().rest[0].file), (8_000, said));
    match next(&mut session).await {
        Some(SttEvent::Error(SttError::Provider(m))) => {
            assert!(m.contains("transcription_failed"), "{m}")
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn a_failure_rest_cannot_rescue_leaves_the_finish_unanswered_for_the_chain() {
    let (fake, stt) = setup(|_| {}).await;
    fake.set_faults(&[Fault::TranscriptionFails, Fault::RestFails]);
    let mut session = open(&stt, SttSampleRate::Hz8000).await.unwrap();
    speak(&mut session, SttSampleRate::Hz8000, 200);
    session.finish().unwrap();
    match next(&mut session).await {
        Some(SttEvent::Error(SttError::Provider(m))) => {
            assert!(m.contains("transcription_failed"), "{m}")
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(fake.log().rest.len(), 0, "the 500 is not logged as a call");
}

#[tokio::test]
async fn a_disconnect_after_the_commit_is_rescued_over_rest() {
    let (fake, stt) = setup(|_| {}).await;
    fake.script(&["first", "second"]);
    // Utterance 1: 10 appends; utterance 2: 10 more and a flush; the drop
    // comes with the 20th, before its commit reaches the server.
    fake.set_fault(Some(Fault::DisconnectAfterAppends(20)));
    let mut session = open(&stt, SttSampleRate::Hz8000).await.unwrap();
    speak(&mut session, SttSampleRate::Hz8000, 200);
    session.finish().unwrap();
    assert_eq!(final_text(&mut session).await, "first");
    speak(&mut session, SttSampleRate::Hz8000, 200);
    session.finish().unwrap();
    let mut got = Vec::new();
    while let Some(event) = next(&mut session).await {
        got.push(event);
    }
    let last = got.pop();
    assert!(
        matches!(last, Some(SttEvent::Error(SttError::Provider(_)))),
        "{last:?}"
    );
    // Whether the commit raced the drop or not, the second turn was answered.
    let finals: Vec<_> = got
        .iter()
        .filter_map(|e| match e {
            SttEvent::Final { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(finals, ["second"]);
    assert_eq!(fake.log().rest.len(), 1);
}

#[tokio::test]
async fn a_message_that_is_not_json_is_a_protocol_error() {
    let (fake, stt) = setup(|_| {}).await;
    fake.set_faults(&[Fault::GarbageOnCommit, Fault::RestFails]);
    let mut session = open(&stt, SttSampleRate::Hz8000).await.unwrap();
    speak(&mut session, SttSampleRate::Hz8000, 200);
    session.finish().unwrap();
    match next(&mut session).await {
        Some(SttEvent::Error(SttError::Protocol(m))) => assert!(m.contains("not JSON"), "{m}"),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn a_late_transcript_ends_with_the_deltas_heard() {
    let (fake, stt) = setup(|c| c.final_timeout = Duration::from_millis(200)).await;
    fake.script(&["one two three four"]);
    fake.set_delta_delay(Duration::from_millis(500));
    let mut session = open(&stt, SttSampleRate::Hz8000).await.unwrap();
    speak(&mut session, SttSampleRate::Hz8000, 200);
    session.finish().unwrap();
    let text = final_text(&mut session).await;
    assert_ne!(text, "one two three four");
    assert!("one two three four".starts_with(&text), "{text}");
}

/// The utterance the fake received as a WAV file: its rate and samples.
fn wav_of(file: &[u8]) -> (u32, Vec<i16>) {
    let w = media::wav::read(std::io::Cursor::new(file)).unwrap();
    (w.sample_rate, w.samples)
}

#[tokio::test]
async fn when_the_socket_cannot_open_utterances_go_over_rest() {
    let (fake, stt) = setup(|_| {}).await;
    fake.set_fault(Some(Fault::RealtimeDown));
    fake.script(&["over rest"]);
    let mut session = open(&stt, SttSampleRate::Hz8000).await.unwrap();
    let said = speak(&mut session, SttSampleRate::Hz8000, 300);
    session.finish().unwrap();
    // REST has no interim results: the first event is the final.
    let Some(SttEvent::Final {
        text, start, end, ..
    }) = next(&mut session).await
    else {
        panic!("a final")
    };
    assert_eq!(
        (text.as_str(), start, end),
        ("over rest", Duration::ZERO, Duration::from_millis(300))
    );
    let log = fake.log();
    let fields: Vec<(&str, &str)> = log.rest[0]
        .fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        fields,
        [
            ("language", "en"),
            ("model", "gpt-4o-transcribe"),
            ("response_format", "json")
        ]
    );
    assert_eq!(wav_of(&log.rest[0].file), (8_000, said));
}

#[tokio::test]
async fn rest_mode_reports_throttling_and_refusals() {
    let (fake, stt) = setup(|c| c.mode = SttMode::Rest).await;
    fake.script(&["fine"]);
    let mut session = open(&stt, SttSampleRate::Hz16000).await.unwrap();
    speak(&mut session, SttSampleRate::Hz16000, 200);
    session.finish().unwrap();
    assert_eq!(final_text(&mut session).await, "fine");
    assert_eq!(fake.log().connections, 0, "rest mode opens no socket");
    assert_eq!(wav_of(&fake.log().rest[0].file).0, 16_000);

    fake.set_fault(Some(Fault::RateLimited));
    speak(&mut session, SttSampleRate::Hz16000, 200);
    session.finish().unwrap();
    match next(&mut session).await {
        Some(SttEvent::Error(SttError::Provider(m))) => {
            assert!(
                m.contains("429") && m.contains("rate_limit_exceeded"),
                "{m}"
            )
        }
        other => panic!("unexpected {other:?}"),
    }

    let (_fake, stt) = setup(|c| {
        c.mode = SttMode::Rest;
        c.api_key = ApiKey::new("sk-wrong");
    })
    .await;
    let mut session = open(&stt, SttSampleRate::Hz8000).await.unwrap();
    speak(&mut session, SttSampleRate::Hz8000, 200);
    session.finish().unwrap();
    match next(&mut session).await {
        Some(SttEvent::Error(SttError::Rejected(m))) => {
            assert!(m.contains("401") && m.contains("invalid_api_key"), "{m}")
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn the_realtime_url_follows_the_base_url_unless_set() {
    let mut c = OpenAiSttConfig::default();
    assert_eq!(
        c.realtime_url(),
        "wss://api.openai.com/v1/realtime?intent=transcription"
    );
    c.base_url = "http://127.0.0.1:9/".into();
    assert_eq!(
        c.realtime_url(),
        "ws://127.0.0.1:9/v1/realtime?intent=transcription"
    );
    c.realtime_url = Some("wss://proxy.example/rt".into());
    assert_eq!(c.realtime_url(), "wss://proxy.example/rt");
    assert_eq!(c.rest_url(), "http://127.0.0.1:9/v1/audio/transcriptions");
}

/// Real OpenAI, only with `OPENAI_API_KEY`: realtime sessions at both rates
/// and a REST request each take the configuration and answer an utterance
/// (a tone: its transcript may be empty) with a `Final`.
#[tokio::test]
async fn live_openai_transcription() {
    let Some(key) = ApiKey::from_env("OPENAI_API_KEY") else {
        eprintln!("skipped: live_openai_transcription needs OPENAI_API_KEY");
        return;
    };
    for mode in [SttMode::Realtime, SttMode::Rest] {
        let stt = OpenAiStt::new(OpenAiSttConfig {
            api_key: key.clone(),
            mode,
            ..OpenAiSttConfig::default()
        })
        .unwrap();
        for rate in [SttSampleRate::Hz8000, SttSampleRate::Hz16000] {
            let mut session = open(&stt, rate).await.unwrap();
            speak(&mut session, rate, 500);
            session.finish().unwrap();
            let text = final_text(&mut session).await;
            eprintln!("live openai ({mode:?}, {} Hz): {text:?}", rate.hz());
        }
    }
}

/// In a chain, OpenAI dropping the connection mid-utterance hands the rest
/// of the utterance, and its `finish()`, to the next provider: the turn gets
/// its transcript and the session never sees an error.
#[tokio::test]
async fn in_a_chain_a_mid_utterance_disconnect_hands_the_turn_to_the_next_provider() {
    use crate::adapter::speech::fake::{FakeStt, FakeSttConfig, synthesize};
    use crate::adapter::speech::fallback::{FallbackConfig, FallbackStt, SpeechMetrics};
    use std::sync::Arc;

    let (fake, openai) = setup(|_| {}).await;
    fake.script(&["first turn"]);
    // Utterance 1 takes 10 appends; the connection drops on the 15th.
    fake.set_fault(Some(Fault::DisconnectAfterAppends(15)));
    let next_one = FakeStt::new(FakeSttConfig {
        trailing_silence: None,
        ..FakeSttConfig::default()
    });
    next_one.expect_utterances(["second turn"]);
    let metrics = SpeechMetrics::default();
    let providers: Vec<(String, Arc<dyn SpeechToText>)> = vec![
        ("openai".into(), Arc::new(openai)),
        ("fake".into(), Arc::new(next_one.clone())),
    ];
    let chain = FallbackStt::new(providers, FallbackConfig::default(), metrics.clone());
    let mut session = open_chain(&chain).await;
    let voice = synthesize("hello there how are you", 8_000, Duration::from_millis(60));
    let mut frames = voice.chunks(160).cycle();
    for frame in frames.by_ref().take(10) {
        session.push_audio(frame.to_vec()).unwrap();
    }
    session.finish().unwrap();
    assert_eq!(final_text(&mut session).await, "first turn");
    for frame in frames.by_ref().take(5) {
        session.push_audio(frame.to_vec()).unwrap();
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while metrics.fallbacks("stt", "openai") == 0 {
        assert!(tokio::time::Instant::now() < deadline, "no switch");
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for frame in frames.take(25) {
        session.push_audio(frame.to_vec()).unwrap();
    }
    session.finish().unwrap();
    assert_eq!(final_text(&mut session).await, "second turn");
    assert_eq!(metrics.errors("stt", "openai"), 1);
    assert_eq!(next_one.log().opened, 1);
}

async fn open_chain(chain: &dyn SpeechToText) -> SttSession {
    let config = SttConfig::new("en-US", SttSampleRate::Hz8000);
    timeout(Duration::from_secs(10), chain.open(config))
        .await
        .unwrap()
        .unwrap()
}
