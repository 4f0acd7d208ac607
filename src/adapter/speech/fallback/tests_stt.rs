//! FallbackStt over the in-process fakes, on tokio's paused clock.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::{Instant, timeout};

use super::*;
use crate::adapter::speech::fake::{FakeStt, FakeSttConfig, synthesize};
use crate::application::ports::speech::{
    SpeechToText, SttConfig, SttError, SttEvent, SttSampleRate, SttSession,
};

fn setup(primary: FakeSttConfig) -> (FakeStt, FakeStt, FallbackStt, SpeechMetrics) {
    let (primary, secondary) = (
        FakeStt::new(primary),
        FakeStt::new(FakeSttConfig::default()),
    );
    let metrics = SpeechMetrics::default();
    let config = FallbackConfig {
        stt_stall_timeout: Some(Duration::from_millis(500)),
        ..FallbackConfig::default()
    };
    let providers: Vec<(String, Arc<dyn SpeechToText>)> = vec![
        ("primary".into(), Arc::new(primary.clone())),
        ("secondary".into(), Arc::new(secondary.clone())),
    ];
    (
        primary,
        secondary,
        FallbackStt::new(providers, config, metrics.clone()),
        metrics,
    )
}

fn config() -> SttConfig {
    SttConfig::new("en-US", SttSampleRate::Hz16000)
}

/// Pushes 20 ms frames of a loud voice until the session yields a result.
async fn speak_until_result(session: &mut SttSession) -> SttEvent {
    let voice = synthesize("hello there how are you", 16_000, Duration::from_millis(60));
    for frame in voice.chunks(320).cycle() {
        let _ = session.push_audio(frame.to_vec());
        if let Ok(Some(event)) = timeout(Duration::from_millis(20), session.recv()).await {
            return event;
        }
    }
    unreachable!("cycle never ends")
}

#[tokio::test(start_paused = true)]
async fn a_primary_that_fails_to_open_is_skipped() {
    let (primary, secondary, stt, metrics) = setup(FakeSttConfig::default());
    primary.fail_next_open(SttError::Connect("down".into()));
    let mut session = stt.open(config()).await.unwrap();
    assert!(!matches!(
        speak_until_result(&mut session).await,
        SttEvent::Error(_)
    ));
    assert_eq!(secondary.log().opened, 1);
    assert_eq!(metrics.fallbacks("stt", "primary"), 1);
}

#[tokio::test(start_paused = true)]
async fn a_mid_stream_error_switches_and_results_continue_within_a_second() {
    let (primary, secondary, stt, metrics) = setup(FakeSttConfig::default());
    primary.fail_after_frames(5, SttError::Provider("boom".into()));
    let mut session = stt.open(config()).await.unwrap();
    // 100 ms of silence, which the primary fails on without a result.
    for _ in 0..5 {
        session.push_audio(vec![0i16; 320]).unwrap();
    }
    let started = Instant::now();
    let event = speak_until_result(&mut session).await;
    assert!(!matches!(event, SttEvent::Error(_)), "{event:?}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(secondary.log().opened, 1);
    assert_eq!(metrics.errors("stt", "primary"), 1);
    assert_eq!(metrics.fallbacks("stt", "primary"), 1);
    // Timestamps continue the session's audio time, not the new provider's.
    if let SttEvent::SpeechStarted { at } | SttEvent::Interim { start: at, .. } = event {
        assert!(at >= Duration::from_millis(100), "{at:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_provider_that_hears_nothing_while_audio_flows_is_replaced() {
    let deaf = FakeSttConfig {
        energy_threshold: f64::MAX,
        trailing_silence: None,
        ..FakeSttConfig::default()
    };
    let (_primary, secondary, stt, metrics) = setup(deaf);
    let mut session = stt.open(config()).await.unwrap();
    let started = Instant::now();
    let event = speak_until_result(&mut session).await;
    assert!(!matches!(event, SttEvent::Error(_)), "{event:?}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(secondary.log().opened, 1);
    assert_eq!(metrics.fallbacks("stt", "primary"), 1);
}

#[tokio::test(start_paused = true)]
async fn when_every_provider_fails_open_fails() {
    let (primary, secondary, stt, _) = setup(FakeSttConfig::default());
    primary.fail_next_open(SttError::Connect("a".into()));
    secondary.fail_next_open(SttError::Connect("b".into()));
    assert_eq!(
        stt.open(config()).await.err(),
        Some(SttError::Connect("b".into()))
    );
}

/// A chain pushes at the highest rate any member asks for (each member is
/// opened at the chain's rate): the wire's own unless Whisper is in it.
#[test]
fn a_chain_hears_the_highest_rate_a_member_asks_for() {
    use crate::adapter::speech::wyoming::{WyomingStt, WyomingSttConfig};
    let (_, _, fakes, _) = setup(FakeSttConfig::default());
    assert_eq!(
        fakes.sample_rate(SttSampleRate::Hz8000),
        SttSampleRate::Hz8000
    );
    assert_eq!(
        fakes.sample_rate(SttSampleRate::Hz16000),
        SttSampleRate::Hz16000
    );
    let whisper = WyomingStt::new(WyomingSttConfig::new("127.0.0.1:1"));
    assert_eq!(
        whisper.sample_rate(SttSampleRate::Hz8000),
        SttSampleRate::Hz16000
    );
    let providers: Vec<(String, Arc<dyn SpeechToText>)> = vec![
        (
            "fake".into(),
            Arc::new(FakeStt::new(FakeSttConfig::default())),
        ),
        ("whisper".into(), Arc::new(whisper)),
    ];
    let chain = FallbackStt::new(
        providers,
        FallbackConfig::default(),
        SpeechMetrics::default(),
    );
    assert_eq!(
        chain.sample_rate(SttSampleRate::Hz8000),
        SttSampleRate::Hz16000
    );
}
