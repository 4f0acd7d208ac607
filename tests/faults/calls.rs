//! Fault scenarios of the call path (see main.rs), against the Asterisk
//! simulator with the events counted on Kafka (tansu).
//!
//! Each scenario first runs one fault-free control call of the script, which
//! must publish exactly the events the expectation counts per call; the
//! expectation is then the script's, never what was read back.

#![allow(clippy::disallowed_methods)] // tests read the clock to wait

#[path = "support_calls.rs"]
mod support;

use support::{EVENTS_PER_CALL, Orchestrator, Reply, Stage, metric};
use vg_testkit::faults::Scale;

/// Cuts the events socket and waits for the gateway to connect again.
async fn cut(stage: &Stage) {
    let connects = metric(&stage.base, "voicegw_ari_connects_total").await;
    stage.sim.drop_events_socket("voice-gateway");
    stage
        .until("the events socket back", 20, async |s| {
            metric(&s.base, "voicegw_ari_connects_total").await > connects
        })
        .await;
}

/// The ARI events socket cut 100 times (small: 5) while calls are up: before
/// their turn, while it is heard and answered, and at last together with the
/// callers' hangups, whose events Asterisk then sends to no one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_socket_cut_100x() {
    let scale = Scale::from_env();
    let (n, cuts) = (scale.pick(4, 100), scale.pick(5, 100));
    let stage = Stage::start(Orchestrator::start(|_, _| Reply::Echo).await, "").await;
    let control = stage.control_call().await;
    let calls = stage.place(n).await;
    let half = cuts / 2;
    for _ in 0..half {
        cut(&stage).await;
    }
    for c in &calls {
        stage.sim.caller_say(*c, &support::speech());
    }
    for _ in half..cuts - 1 {
        cut(&stage).await;
    }
    let answers = 1 + n;
    stage
        .until("every answer", 90, async |s| {
            s.topic.count("tts.generated") >= 2 * answers
        })
        .await;
    assert_eq!(stage.admission.live_calls(), n, "every call kept");
    // The last cut with the hangups: their events go nowhere, only the
    // resync after the reconnect can end the calls.
    stage.sim.drop_events_socket("voice-gateway");
    stage.hang_up(&calls).await;
    let expected = n as u64 * EVENTS_PER_CALL;
    stage.delivered(expected + EVENTS_PER_CALL).await;
    let lost_ends = metric(
        &stage.base,
        "voicegw_calls_ended_total{reason=\"channel_lost\"}",
    )
    .await;
    stage
        .topic
        .tally_without(&[control])
        .outcome("events-socket-cut-100x", n as u64, expected)
        .note(format!(
            "{n} calls up through {cuts} cuts of the ARI events socket (the last one with every \
             hangup); {lost_ends} calls found gone by the resync"
        ))
        .check();
    stage.stop().await;
}
