//! The gateway against the Asterisk simulator: it registers its Stasis app, is
//! ready, keeps a call through 100 forced events-socket drops, and reconciles
//! calls after a restart whose events it never saw.

use crate::{metrics::metric, support::wait_for};
use std::time::Duration;
use vg_asterisk_sim::{SimConfig, Simulator};
use voice_gateway::{adapter::config::load_from_str, server::Gateway};

async fn until(what: &str, mut cond: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !cond().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survives_100_drops_and_reconciles_after_a_restart() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let (user, pass) = sim.credentials();
    let cfg = load_from_str(
        &format!(
            "[http]\nlisten = \"127.0.0.1:0\"\n[ari]\nurl = \"{}\"\nusername = \"{user}\"\npassword = \"{pass}\"\n\
             reconnect_max_delay = \"20ms\"\n[lifecycle]\ndrain_deadline = \"1s\"\n\
             [events]\npath = \"{}\"\n[speech]\nstt = \"fake\"\ntts = \"fake\"\n",
            sim.base_url(),
            crate::support::events_path()
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

    let ready = wait_for(&base, "/readyz", |c, _| c == 200).await;
    assert_eq!(ready["dependencies"]["ari"]["state"], "up");
    assert!(
        sim.app_connected("voice-gateway"),
        "the Stasis app is registered"
    );

    let call = sim.place_inbound_call("+15551234567", "+15557654321");
    until("the gateway to take the call", async || {
        admission.live_calls() == 1
    })
    .await;

    for round in 0..100 {
        let connects = metric(&base, "voicegw_ari_connects_total").await;
        sim.drop_events_socket("voice-gateway");
        until(&format!("reconnect {round}"), async || {
            metric(&base, "voicegw_ari_connects_total").await > connects
        })
        .await;
        assert_eq!(admission.live_calls(), 1, "call kept through drop {round}");
    }
    assert!(
        !sim.call_ended(call),
        "the simulated call is still in progress"
    );
    assert_eq!(
        metric(&base, "voicegw_ari_event_decode_errors_total").await,
        0.0
    );

    // Drop the socket, then restart while the gateway is away: the hangup
    // events go nowhere, so only the resync after reconnecting can tell.
    sim.drop_events_socket("voice-gateway");
    sim.restart(Duration::from_millis(50));
    until("the call to be reconciled away", async || {
        admission.live_calls() == 0
    })
    .await;
    // The permit is released as the session finishes, a moment before the
    // router records the end: wait for the counter rather than race it.
    until("the end to be counted as channel_lost", async || {
        metric(&base, "voicegw_calls_ended_total{reason=\"channel_lost\"}").await == 1.0
    })
    .await;
    assert_eq!(metric(&base, "voicegw_calls_started_total").await, 1.0);
    assert!(sim.channel_ids().is_empty());
    wait_for(&base, "/readyz", |c, _| c == 200).await;

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}
