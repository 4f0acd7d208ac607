//! Fidelity: the simulator against Asterisk's recorded traffic (`tests/fixtures/ari-fixtures`).

// Tests read the clock to make their inputs and to measure.
#![allow(clippy::disallowed_methods)]

mod replay;
mod shape;

use replay::Replay;

async fn check(file: &str) {
    let r = Replay::run(file).await;
    eprintln!(
        "{file}: {} REST/WS answers and {} events compared; skipped: {:?}",
        r.http_compared, r.events_compared, r.skipped
    );
    assert!(
        r.errors.is_empty(),
        "{file}: {} differences:\n{}",
        r.errors.len(),
        r.errors.join("\n")
    );
    assert!(r.http_compared > 0 && r.events_compared > 0);
}

#[tokio::test]
async fn f01_inbound_external_media() {
    check("01-inbound-externalmedia-rtp.json").await;
}

#[tokio::test]
async fn f02_dtmf() {
    check("02-dtmf.json").await;
}

#[tokio::test]
async fn f03_outbound_originate() {
    check("03-outbound-originate-subscribeall.json").await;
}

#[tokio::test]
async fn f04_originate_failures() {
    check("04-originate-failures.json").await;
}

#[tokio::test]
async fn f05_rest_errors() {
    check("05-rest-errors.json").await;
}

#[tokio::test]
async fn f06_playback() {
    check("06-playback.json").await;
}

#[tokio::test]
async fn f09_caller_hangup() {
    check("09-caller-hangup-during-streaming.json").await;
}

#[tokio::test]
async fn f10_websocket_lifecycle() {
    check("10-websocket-lifecycle.json").await;
}
