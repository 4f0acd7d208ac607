//! A whole conversation through the gateway, the simulator and real RTP on
//! loopback: greeting heard, a sentence said, the reply heard, hangup, and
//! every resource released.

use crate::support::{events_path, wait_for};
use std::time::Duration;
use vg_asterisk_sim::{SimConfig, Simulator};
use voice_gateway::{adapter::config::load_from_str, server::Gateway};

fn rms(pcm: &[i16]) -> f64 {
    (pcm.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / pcm.len().max(1) as f64).sqrt()
}

fn events(path: &str) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    // The gateway may be mid-line: only whole lines are events yet.
    let whole = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
    whole
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caller_hears_the_greeting_speaks_and_hears_the_reply() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let (user, pass) = sim.credentials();
    let events_file = events_path();
    let cfg = load_from_str(
        &format!(
            "[http]\nlisten = \"127.0.0.1:0\"\n[ari]\nurl = \"{}\"\nusername = \"{user}\"\npassword = \"{pass}\"\n\
             [events]\npath = \"{events_file}\"\n[speech]\nstt = \"fake\"\ntts = \"fake\"\n\
             [media]\nrtp_port_range = \"31000-31099\"\n",
            sim.base_url()
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
    wait_for(&base, "/readyz", |c, _| c == 200).await;

    let call = sim.place_inbound_call("+15551234567", "+15557654321");
    // The greeting arrives as real, paced RTP and is not silence.
    until("the greeting to be heard", || {
        rms(&sim.heard_pcm(call)) > 500.0
    })
    .await;
    until("the greeting to finish", || {
        events(&events_file)
            .iter()
            .any(|e| e["type"] == "tts.generated")
    })
    .await;
    let rtp = sim.received(call);
    assert!(rtp.len() > 20, "{} packets", rtp.len());

    // The caller says something (a loud 1.2 s tone stands in for speech).
    let speech: Vec<i16> = (0..9600)
        .map(|i| (9000.0 * (2.0 * std::f64::consts::PI * 300.0 * i as f64 / 8000.0).sin()) as i16)
        .collect();
    let heard_before = sim.heard_pcm(call).len();
    assert!(sim.caller_say(call, &speech));
    until("the reply", || {
        events(&events_file)
            .iter()
            .filter(|e| e["type"] == "tts.generated")
            .count()
            >= 2
    })
    .await;
    let evs = events(&events_file);
    let transcribed = evs
        .iter()
        .find(|e| e["type"] == "stt.transcribed")
        .expect("a transcript");
    assert_eq!(transcribed["data"]["text"], "utterance 1");
    assert_eq!(transcribed["data"]["tenant_id"], "default");
    assert!(
        sim.heard_pcm(call).len() > heard_before + 8000,
        "the reply was heard"
    );

    sim.caller_hangup(call);
    until("the call to end", || admission.live_calls() == 0).await;
    let evs = events(&events_file);
    let types: Vec<&str> = evs.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types.first(), Some(&"call.started"));
    assert_eq!(types.last(), Some(&"call.ended"), "{types:?}");
    let ended = evs.last().unwrap();
    assert_eq!(ended["data"]["reason"], "caller_hangup");
    assert_eq!(ended["data"]["turns"], 1);
    let call_ids: std::collections::HashSet<_> = evs.iter().map(|e| e["subject"].clone()).collect();
    assert_eq!(call_ids.len(), 1, "one call id on every event");
    // The router records the end a moment after the call's permit is released.
    let base2 = base.clone();
    let metrics = async move || {
        reqwest::get(format!("{base2}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !metrics()
        .await
        .contains("voicegw_calls_ended_total{reason=\"caller_hangup\"} 1")
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "end never counted: {}",
            metrics().await
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let text = metrics().await;
    assert!(
        text.contains("voicegw_turn_latency_seconds_count{stage=\"total\"} 1"),
        "{text}"
    );
    // Everything the gateway created on Asterisk is gone.
    until("bridge and media channel released", || {
        sim.bridge_ids().is_empty() && sim.channel_ids().is_empty()
    })
    .await;

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

/// A caller heard only while talking, as Asterisk sends in a two-party
/// bridge: between answers no RTP at all. Every answer must still be heard.
/// Before the VAD counted those gaps as silence, its noise floor learnt from
/// speech alone and, six seconds of talking in, the call went deaf.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_heard_only_while_talking_is_heard_every_turn() {
    use crate::rig::{Rig, speech};
    const TURNS: usize = 8;
    let rig = Rig::start(vg_asterisk_sim::SimConfig::default(), "").await;
    let call = rig.sim.place_inbound_call("+15551234567", "+15557654321");
    rig.greeting_heard(call).await;
    for turn in 1..=TURNS {
        let sent_before = rig.sim.received(call).len();
        assert!(rig.sim.caller_say(call, &speech(1000)));
        rig.until_count("stt.transcribed", turn).await;
        assert_eq!(
            rig.data("stt.transcribed", turn - 1)["text"],
            format!("utterance {turn}")
        );
        // The reply is played out before the caller speaks again.
        rig.until_count("tts.generated", turn + 1).await;
        assert!(
            rig.sim.received(call).len() > sent_before + 25,
            "reply {turn} heard"
        );
    }
    rig.sim.caller_hangup(call);
    rig.all_released().await;
    let ended = rig.data("call.ended", 0);
    assert_eq!(ended["turns"], TURNS as u64, "{ended}");
    assert_eq!(
        rig.count("call.bargein"),
        0,
        "no barge-in: {:?}",
        rig.types()
    );
    rig.stop().await;
}
