//! A gateway wired to a simulator (and optionally a scripted orchestrator),
//! with helpers that wait for conditions instead of sleeping.

use crate::support::{events_path, wait_for};
use serde_json::Value;
use std::{
    sync::atomic::{AtomicU16, Ordering},
    time::Duration,
};
use vg_asterisk_sim::{SimCallId, SimConfig, SimHandle, Simulator};
use voice_gateway::{
    adapter::config::load_from_str, application::admission::CallAdmission,
    application::router::RouterHandle, server::Gateway,
};

/// RTP ports of each rig: 50 of their own, so tests running together never share one.
static NEXT_PORTS: AtomicU16 = AtomicU16::new(32_000);

pub(crate) struct Rig {
    pub(crate) sim: SimHandle,
    /// The gateway's HTTP base URL.
    pub(crate) base: String,
    pub(crate) events_file: String,
    pub(crate) control: RouterHandle,
    pub(crate) admission: std::sync::Arc<CallAdmission>,
    stop: tokio::sync::oneshot::Sender<()>,
    running: tokio::task::JoinHandle<Result<(), voice_gateway::server::ServerError>>,
}

impl Rig {
    /// Starts a simulator and a gateway on it (fake speech, events to a file);
    /// `extra` is appended to the configuration (its own sections only).
    pub(crate) async fn start(sim_config: SimConfig, extra: &str) -> Rig {
        Self::start_with_env(sim_config, extra, Vec::new()).await
    }

    /// [`Rig::start`] with `VOICEGW__…` overrides (keys of the sections the
    /// rig writes itself, such as `[speech]`).
    pub(crate) async fn start_with_env(
        sim_config: SimConfig,
        extra: &str,
        env: Vec<(String, String)>,
    ) -> Rig {
        let sim = Simulator::start(sim_config).await.unwrap();
        Self::start_on(sim, extra, env).await
    }

    /// A gateway on a simulator that is already running (a second gateway
    /// process after the first one stopped).
    pub(crate) async fn start_on(sim: SimHandle, extra: &str, env: Vec<(String, String)>) -> Rig {
        logs();
        let (user, pass) = sim.credentials();
        let events_file = events_path();
        let first = NEXT_PORTS.fetch_add(50, Ordering::Relaxed);
        let cfg = load_from_str(
            &format!(
                "[http]\nlisten = \"127.0.0.1:0\"\n[ari]\nurl = \"{}\"\nusername = \"{user}\"\npassword = \"{pass}\"\n\
                 [events]\npath = \"{events_file}\"\n[speech]\nstt = \"fake\"\ntts = \"fake\"\n\
                 [media]\nrtp_port_range = \"{first}-{}\"\n{extra}",
                sim.base_url(),
                first + 49
            ),
            env,
        )
        .unwrap();
        let gw = Gateway::bind(cfg).await.unwrap();
        let base = format!("http://{}", gw.local_addr());
        let control = gw.control();
        let admission = gw.state().admission.clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let running = tokio::spawn(gw.run(async {
            let _ = stopped.await;
        }));
        wait_for(&base, "/readyz", |c, _| c == 200).await;
        Rig {
            sim,
            base,
            events_file,
            control,
            admission,
            stop,
            running,
        }
    }

    /// Every event published so far.
    pub(crate) fn events(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(&self.events_file).unwrap_or_default();
        // The gateway may be mid-line: only whole lines are events yet.
        let whole = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
        whole
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// The types of the events so far, in order.
    pub(crate) fn types(&self) -> Vec<String> {
        self.events()
            .iter()
            .map(|e| e["type"].as_str().unwrap().to_owned())
            .collect()
    }

    pub(crate) fn count(&self, t: &str) -> usize {
        self.types().iter().filter(|x| *x == t).count()
    }

    /// The data of the `n`th (0-based) event of type `t`.
    pub(crate) fn data(&self, t: &str, n: usize) -> Value {
        self.events()
            .into_iter()
            .filter(|e| e["type"] == t)
            .nth(n)
            .map(|e| e["data"].clone())
            .unwrap_or_default()
    }

    /// Polls `cond` until it holds; fails after 30 s with `what` and the events.
    pub(crate) async fn until(&self, what: &str, mut cond: impl FnMut(&Rig) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while !cond(self) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}; events: {:?}",
                self.types()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits until `n` events of type `t` are out.
    pub(crate) async fn until_count(&self, t: &str, n: usize) {
        self.until(&format!("{n} × {t}"), |r| r.count(t) >= n).await;
    }

    /// Waits until the greeting is being heard, then until it is over.
    pub(crate) async fn greeting_heard(&self, call: SimCallId) {
        self.until("the greeting to be heard", |r| {
            rms(&r.sim.heard_pcm(call)) > 500.0
        })
        .await;
        self.until_count("tts.generated", 1).await;
    }

    /// Waits until the call is over and everything it held on Asterisk and
    /// in the gateway is released.
    pub(crate) async fn all_released(&self) {
        self.until("no live call", |r| r.admission.live_calls() == 0)
            .await;
        self.until("channels, bridges and media streams released", |r| {
            r.sim.channel_ids().is_empty()
                && r.sim.bridge_ids().is_empty()
                && r.sim.media_stream_count() == 0
        })
        .await;
        // The events file is written by its own task: `call.ended` may land
        // just after the resources are gone.
        self.until("every started call's call.ended", |r| {
            r.count("call.ended") >= r.count("call.started").max(1)
        })
        .await;
    }

    pub(crate) async fn stop(self) {
        drop(self.stop_gateway().await);
    }

    /// Shuts the gateway down (drain, exit) and hands back the simulator,
    /// to look at what the gateway left on "Asterisk".
    pub(crate) async fn stop_gateway(self) -> SimHandle {
        self.stop.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(10), self.running)
            .await
            .expect("the gateway exits within 10 s")
            .unwrap()
            .unwrap();
        self.sim
    }
}

/// Packets of the last talkspurt the party received (from its marker bit on).
pub(crate) fn last_talkspurt(rig: &Rig, call: SimCallId) -> usize {
    let packets = rig.sim.received(call);
    let start = packets.iter().rposition(|p| p.marker).unwrap_or(0);
    packets.len() - start
}

/// 20 ms frames of `text` in the fake voice, sentence by sentence as the
/// session hands it to TTS (the space between two sentences is not spoken).
pub(crate) fn spoken_frames(text: &str) -> usize {
    text.split_inclusive(['.', '?', '!'])
        .map(|s| {
            voice_gateway::adapter::speech::fake::synthesize(
                s.trim(),
                8000,
                std::time::Duration::from_millis(60),
            )
            .len()
                / 160
        })
        .sum()
}

pub(crate) fn rms(pcm: &[i16]) -> f64 {
    (pcm.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / pcm.len().max(1) as f64).sqrt()
}

/// A loud 300 Hz tone (8 kHz) standing in for the caller's speech.
pub(crate) fn speech(ms: usize) -> Vec<i16> {
    (0..ms * 8)
        .map(|i| (9000.0 * (2.0 * std::f64::consts::PI * 300.0 * i as f64 / 8000.0).sin()) as i16)
        .collect()
}

/// With `VG_TEST_LOG` set (a `tracing` filter such as `info`), the gateways'
/// logs go to the test's captured output: printed only for a test that
/// fails. Each test's runtime threads inherit its capture.
fn logs() {
    if let Ok(filter) = std::env::var("VG_TEST_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_test_writer()
            .try_init();
    }
}
