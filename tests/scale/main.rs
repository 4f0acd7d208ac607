//! 200 concurrent calls through the simulator with real RTP, all of them
//! answered and greeted, then hung up: nothing may be left behind (sockets,
//! tasks, media legs, Asterisk channels and bridges).
//!
//! Its own test binary, so it never shares the machine with the other
//! integration tests (cargo runs test binaries one after another).

// Tests read the clock to make their inputs and to measure.
#![allow(clippy::disallowed_methods)]

#[path = "../common/metrics.rs"]
mod metrics;

use metrics::metric;
use std::time::Duration;
use vg_asterisk_sim::{SimConfig, Simulator};
use voice_gateway::{
    adapter::config::load_from_str, adapter::telemetry::ProcessStats, server::Gateway,
};

const CALLS: usize = 200;
/// Calls are placed in steps, each once the previous step is bridged, as
/// calls arrive in life (and so a debug build on 2 shared cores keeps up).
const STEP: usize = 20;

fn events_path() -> String {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("voicegw-scale-{}", std::process::id()));
    dir.join("events.jsonl").display().to_string()
}

async fn until(what: &str, secs: u64, mut cond: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !cond().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_calls_leave_nothing_behind() {
    let sim = Simulator::start(SimConfig {
        record_payloads: false,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let (user, pass) = sim.credentials();
    let events = events_path();
    let cfg = load_from_str(
        &format!(
            "[http]\nlisten = \"127.0.0.1:0\"\n[ari]\nurl = \"{}\"\nusername = \"{user}\"\npassword = \"{pass}\"\n\
             [events]\npath = \"{}\"\n[speech]\nstt = \"fake\"\ntts = \"fake\"\n\
             [media]\nrtp_port_range = \"32000-32299\"\n[session]\nsilence_timeout = \"10m\"\n",
            sim.base_url(),
            events
        ),
        Vec::new(),
    )
    .unwrap();
    let gw = Gateway::bind(cfg).await.unwrap();
    let base = format!("http://{}", gw.local_addr());
    let admission = gw.state().admission.clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(gw.run(async {
        let _ = stopped.await;
    }));
    until("ready", 20, async || {
        reqwest::get(format!("{base}/readyz"))
            .await
            .is_ok_and(|r| r.status() == 200)
    })
    .await;
    let runtime = tokio::runtime::Handle::current().metrics();
    let tasks_before = runtime.num_alive_tasks();
    let fds_before = ProcessStats::read().open_fds.unwrap();

    let mut calls = Vec::with_capacity(CALLS);
    while calls.len() < CALLS {
        calls.extend((0..STEP).map(|_| sim.place_inbound_call("+15551234567", "+15557654321")));
        let n = calls.len();
        until(&format!("{n} calls bridged"), 60, async || {
            metric(&base, "voicegw_media_legs_open").await as usize == n
        })
        .await;
    }
    assert_eq!(admission.live_calls(), CALLS);
    // Every caller hears its greeting: packets reach each simulated caller.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let heard = calls
            .iter()
            .filter(|c| !sim.received(**c).is_empty())
            .count();
        if heard == CALLS {
            break;
        }
        if tokio::time::Instant::now() > deadline {
            let text = std::fs::read_to_string(&events).unwrap_or_default();
            let mut counts = std::collections::BTreeMap::new();
            for l in text.lines() {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                *counts
                    .entry(v["type"].as_str().unwrap().to_owned())
                    .or_insert(0) += 1;
                if v["type"] == "call.ended" || v["type"].as_str().unwrap().starts_with("error") {
                    eprintln!("{}", v["data"]);
                }
            }
            panic!(
                "only {heard} of {CALLS} callers heard audio; events {counts:?}; packets out {}",
                metric(&base, "voicegw_media_packets_out_total").await
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    for c in &calls {
        sim.caller_hangup(*c);
    }
    until("every call to end", 60, async || {
        admission.live_calls() == 0
    })
    .await;
    until("every leg closed", 30, async || {
        metric(&base, "voicegw_media_legs_open").await == 0.0
    })
    .await;
    until("Asterisk cleaned", 30, async || {
        sim.channel_ids().is_empty() && sim.bridge_ids().is_empty()
    })
    .await;
    until("every end counted", 30, async || {
        metric(&base, "voicegw_calls_ended_total{reason=\"caller_hangup\"}").await as usize == CALLS
    })
    .await;
    // The ARI client may keep a few keep-alive connections to the simulator;
    // both ends live in this process, so each counts twice (fd and task).
    let pool = 2 * voice_gateway::adapter::ari::IDLE_CONNECTIONS;
    until("tasks back to baseline", 30, async || {
        runtime.num_alive_tasks() <= tasks_before + pool + 2
    })
    .await;
    let fds_after = ProcessStats::read().open_fds.unwrap();
    assert!(
        fds_after <= fds_before + pool as u64 + 4,
        "descriptors leaked: {fds_before} before, {fds_after} after"
    );

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(20), running)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}
