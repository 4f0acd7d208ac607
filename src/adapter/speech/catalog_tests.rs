//! ProviderCatalog over the in-process fakes, on tokio's paused clock.

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::adapter::speech::fake::{
    FakeStt, FakeSttConfig, FakeTts, FakeTtsConfig, FakeTtsFailure,
};
use crate::application::ports::speech::{
    SttConfig, SttSampleRate, TtsConfig, TtsError, TtsEvent, TtsOutput,
};

struct Fixture {
    catalog: ProviderCatalog,
    tts_a: FakeTts,
    tts_b: FakeTts,
    stt_a: FakeStt,
    stt_b: FakeStt,
    metrics: SpeechMetrics,
}

/// Providers `a` and `b` in both directions, `tts-only` for synthesis only,
/// and `cloud` known but missing its key. The default is `a` alone.
fn fixture() -> Fixture {
    let metrics = SpeechMetrics::default();
    let mut catalog = ProviderCatalog::new(
        vec!["a".into()],
        vec!["a".into()],
        FallbackConfig::default(),
        metrics.clone(),
    );
    let (tts_a, tts_b) = (
        FakeTts::new(FakeTtsConfig::default()),
        FakeTts::new(FakeTtsConfig::default()),
    );
    let (stt_a, stt_b) = (
        FakeStt::new(FakeSttConfig::default()),
        FakeStt::new(FakeSttConfig::default()),
    );
    catalog.add_stt("a", Arc::new(stt_a.clone()), true);
    catalog.add_stt("b", Arc::new(stt_b.clone()), true);
    catalog.add_tts("a", Arc::new(tts_a.clone()));
    catalog.add_tts("b", Arc::new(tts_b.clone()));
    catalog.add_tts("tts-only", Arc::new(FakeTts::new(FakeTtsConfig::default())));
    catalog.add_unavailable(
        "cloud",
        "speech.cloud.api_key is not set (nor CLOUD_API_KEY)",
    );
    Fixture {
        catalog,
        tts_a,
        tts_b,
        stt_a,
        stt_b,
        metrics,
    }
}

fn choice(primary: Option<&str>, fallbacks: &[&str]) -> SpeechChoice {
    SpeechChoice {
        primary: primary.map(str::to_owned),
        fallbacks: fallbacks.iter().map(|s| (*s).to_owned()).collect(),
    }
}

fn tts_config() -> TtsConfig {
    TtsConfig {
        voice: None,
        language: "en-US".into(),
        output: TtsOutput::Native,
    }
}

/// Speaks one sentence through `provider` and waits for `Done`.
async fn speak(provider: &Arc<dyn TextToSpeech>, text: &str) {
    let mut s = provider.open(tts_config()).await.unwrap();
    s.send_text(text).unwrap();
    s.finish().unwrap();
    loop {
        match tokio::time::timeout(Duration::from_secs(60), s.recv())
            .await
            .unwrap()
        {
            Some(TtsEvent::Audio(_)) => {}
            Some(TtsEvent::Done) => return,
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_route_choice_speaks_with_its_own_provider() {
    let f = fixture();
    let chosen = f.catalog.tts(&choice(Some("b"), &[])).unwrap();
    assert_eq!(chosen.names, ["b"]);
    speak(&chosen.provider, "Hello from b.").await;
    assert_eq!(f.tts_b.log().texts, ["Hello from b."]);
    assert!(f.tts_a.log().texts.is_empty());

    let default = f.catalog.tts(&SpeechChoice::default()).unwrap();
    assert_eq!(default.names, ["a"]);
    speak(&default.provider, "Hello from a.").await;
    assert_eq!(f.tts_a.log().texts, ["Hello from a."]);

    let stt = f.catalog.stt(&choice(Some("b"), &[])).unwrap();
    let _session = stt
        .provider
        .open(SttConfig::new("en-US", SttSampleRate::Hz16000))
        .await
        .unwrap();
    assert_eq!((f.stt_b.log().opened, f.stt_a.log().opened), (1, 0));
}

#[tokio::test(start_paused = true)]
async fn a_route_chain_falls_back_and_is_built_once() {
    let f = fixture();
    let c = choice(Some("b"), &["a"]);
    let chain = f.catalog.tts(&c).unwrap();
    assert_eq!(chain.names, ["b", "a"]);
    let again = f.catalog.tts(&c).unwrap();
    assert!(
        Arc::ptr_eq(&chain.provider, &again.provider),
        "one chain per choice"
    );

    f.tts_b
        .fail_next(FakeTtsFailure::Open(TtsError::Connect("down".into())));
    speak(&chain.provider, "Still heard.").await;
    assert_eq!(f.tts_a.log().texts, ["Still heard."]);
    assert_eq!(f.metrics.fallbacks("tts", "b"), 1);
    assert_eq!(f.metrics.errors("tts", "b"), 1);
}

#[tokio::test(start_paused = true)]
async fn fallbacks_alone_follow_the_default_primary() {
    let f = fixture();
    let chain = f.catalog.stt(&choice(None, &["b"])).unwrap();
    assert_eq!(chain.names, ["a", "b"]);
    let chain = f.catalog.tts(&choice(None, &["b"])).unwrap();
    assert_eq!(chain.names, ["a", "b"]);
}

#[test]
fn unusable_choices_say_why() {
    let f = fixture();
    let err = |r: Result<Chosen<dyn TextToSpeech>, CatalogError>| r.err().unwrap().to_string();
    assert_eq!(
        err(f.catalog.tts(&choice(Some("nope"), &[]))),
        format!(
            "\"nope\" is not a speech provider ({})",
            SpeechProvider::names()
        )
    );
    assert_eq!(
        err(f.catalog.tts(&choice(Some("b"), &["cloud"]))),
        "cloud is not configured: speech.cloud.api_key is not set (nor CLOUD_API_KEY)"
    );
    assert_eq!(
        err(f.catalog.tts(&choice(Some("b"), &["b"]))),
        "b is listed twice"
    );
    // With no primary the default's `a` leads, so `a` again repeats it.
    assert_eq!(
        err(f.catalog.tts(&choice(None, &["a"]))),
        "a is listed twice"
    );
    let stt = f.catalog.stt(&choice(Some("tts-only"), &[]));
    assert_eq!(
        stt.err().unwrap().to_string(),
        "tts-only offers no speech-to-text"
    );
}

#[tokio::test(start_paused = true)]
async fn chains_share_each_providers_breaker() {
    let f = fixture();
    let first = f.catalog.tts(&choice(Some("b"), &["a"])).unwrap();
    let second = f.catalog.tts(&choice(Some("b"), &["tts-only"])).unwrap();
    // Three failures in a row open b's breaker (the default threshold).
    for _ in 0..3 {
        f.tts_b
            .fail_next(FakeTtsFailure::Open(TtsError::Connect("down".into())));
    }
    for _ in 0..3 {
        speak(&first.provider, "Via a.").await;
    }
    assert_eq!(f.tts_b.log().opened, 0, "b never opened a session");
    // The other chain does not try b while its breaker is open.
    speak(&second.provider, "Via tts-only.").await;
    assert_eq!(f.metrics.errors("tts", "b"), 3);
    assert_eq!(f.tts_b.log().texts.len(), 0);
    // After the cool-down b gets its try again, from either chain.
    tokio::time::advance(FallbackConfig::default().breaker.cool_down).await;
    speak(&second.provider, "Back on b.").await;
    assert_eq!(f.tts_b.log().texts, ["Back on b."]);
}
