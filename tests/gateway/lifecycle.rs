//! The drain sequence, driven in-process with shutdown as a future.

use crate::support::{get_json, test_config, wait_for};
use std::time::Duration;
use voice_gateway::{
    application::{admission::AdmissionError, health::ReadyStatus},
    server::Gateway,
};

#[tokio::test]
async fn drain_turns_readyz_503_refuses_calls_and_waits_for_live_ones() {
    let gw = Gateway::bind(test_config("30s")).await.unwrap();
    let base = format!("http://{}", gw.local_addr());
    let state = gw.state().clone();
    let permit = state.admission.try_admit().unwrap();
    let (trigger, shutdown) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(gw.run(async {
        let _ = shutdown.await;
    }));

    // Before the drain: alive, and not ready because ARI is unreachable.
    assert_eq!(get_json(&base, "/healthz").await.0, 200);
    let body = wait_for(&base, "/readyz", |_, b| {
        b["dependencies"]["ari"]["state"] == "down"
    })
    .await;
    assert_eq!(body["status"], "not_ready");

    trigger.send(()).unwrap();
    let body = wait_for(&base, "/readyz", |c, b| {
        c == 503 && b["status"] == "draining"
    })
    .await;
    assert_eq!(body["status"], "draining");
    assert_eq!(
        state.admission.try_admit().unwrap_err(),
        AdmissionError::Draining
    );
    // HTTP still serves during the drain, and the gateway waits for the call.
    assert_eq!(get_json(&base, "/healthz").await.0, 200);
    assert!(!running.is_finished());

    drop(permit);
    tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("run returns once the last call ended")
        .unwrap()
        .unwrap();
    assert!(
        reqwest::get(format!("{base}/healthz")).await.is_err(),
        "HTTP stopped after the drain"
    );
}

/// Bound but not yet run, the gateway is not ready: its ARI events socket is
/// declared and not up. Before, nothing was declared until the stream's task
/// first ran, and a `/readyz` served before that said ready; a test that
/// placed its call then lost it (Asterisk had no Stasis app to send it to).
#[tokio::test]
async fn a_gateway_is_not_ready_before_its_events_socket_is_up() {
    let gw = Gateway::bind(test_config("30s")).await.unwrap();
    let report = gw.state().readiness.report();
    assert_eq!(report.status, ReadyStatus::NotReady, "{report:?}");
    assert!(report.dependencies.contains_key("ari"), "{report:?}");
}

#[tokio::test]
async fn drain_gives_up_at_the_deadline() {
    let gw = Gateway::bind(test_config("100ms")).await.unwrap();
    let permit = gw.state().admission.try_admit().unwrap();
    tokio::time::timeout(Duration::from_secs(10), gw.run(async {}))
        .await
        .expect("run returns at the drain deadline even with a live call")
        .unwrap();
    drop(permit);
}

#[tokio::test]
async fn a_taken_port_is_a_clear_error() {
    let gw = Gateway::bind(test_config("1s")).await.unwrap();
    let mut cfg = test_config("1s");
    cfg.http.listen = gw.local_addr();
    let err = Gateway::bind(cfg).await.unwrap_err();
    assert!(err.to_string().contains("http.listen"), "{err}");
}

#[tokio::test]
async fn a_cloud_provider_without_its_key_stops_the_start_with_the_key_named() {
    let mut cfg = test_config("1s");
    cfg.speech.tts = voice_gateway::adapter::config::SpeechProvider::Elevenlabs;
    if std::env::var_os("ELEVENLABS_API_KEY").is_some() {
        return; // a developer with a real key set: nothing to show here
    }
    let err = Gateway::bind(cfg).await.unwrap_err().to_string();
    assert!(
        err.contains("speech.elevenlabs.api_key") && err.contains("ELEVENLABS_API_KEY"),
        "{err}"
    );
}

#[tokio::test]
async fn fallback_chains_build_and_each_member_is_checked() {
    use voice_gateway::adapter::config::SpeechProvider;
    let mut cfg = test_config("1s");
    cfg.speech.tts_fallback = vec![SpeechProvider::Wyoming];
    cfg.speech.stt_fallback = vec![SpeechProvider::Wyoming];
    Gateway::bind(cfg)
        .await
        .expect("a fake → wyoming chain builds");

    if std::env::var_os("ELEVENLABS_API_KEY").is_some() {
        return;
    }
    let mut cfg = test_config("1s");
    cfg.speech.tts_fallback = vec![SpeechProvider::Wyoming, SpeechProvider::Elevenlabs];
    let err = Gateway::bind(cfg).await.unwrap_err().to_string();
    assert!(
        err.contains("speech.elevenlabs.api_key"),
        "a fallback member is built and checked too: {err}"
    );
}
