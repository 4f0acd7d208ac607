//! The gateway binary on the simulator, its events file and log read back.

use serde_json::Value;
use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::Duration,
};
use vg_asterisk_sim::SimHandle;

/// Polls `cond` every 20 ms; fails naming `what` after `secs` seconds.
pub(crate) async fn until(what: &str, secs: u64, mut cond: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A loud 1.2 s tone: the fake recogniser hears it as one utterance.
pub(crate) fn speech() -> Vec<i16> {
    (0..9600)
        .map(|i| (9000.0 * (2.0 * std::f64::consts::PI * 300.0 * i as f64 / 8000.0).sin()) as i16)
        .collect()
}

/// The gateway binary, killed if the test fails before it is stopped.
pub(crate) struct Gateway {
    child: Option<Child>,
    events: PathBuf,
    log: Arc<Mutex<Vec<Value>>>,
    _dir: tempfile::TempDir,
}

impl Gateway {
    /// Starts the binary on `sim` with the orchestrator at `orch` and `env`.
    /// Returns once it is ready (its Stasis app registered).
    pub(crate) async fn spawn(sim: &SimHandle, orch: &str, env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let events = dir.path().join("events.jsonl");
        let (user, pass) = sim.credentials();
        let mut child = Command::new(crate::BIN)
            .env("VOICEGW__HTTP__LISTEN", "127.0.0.1:0")
            .env("VOICEGW__ARI__URL", sim.base_url())
            .env("VOICEGW__ARI__USERNAME", user)
            .env("VOICEGW__ARI__PASSWORD", pass)
            .env("VOICEGW__SPEECH__STT", "fake")
            .env("VOICEGW__SPEECH__TTS", "fake")
            .env("VOICEGW__ORCHESTRATOR__URL", orch)
            .env("VOICEGW__MEDIA__RTP_PORT_RANGE", rtp_ports())
            .env("VOICEGW__LOG__FORMAT", "json")
            .env("VOICEGW__EVENTS__PATH", &events)
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (addr, lines) = crate::process::started_at(&mut child);
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str(&line) {
                    sink.lock().unwrap().push(v);
                }
            }
        });
        let gw = Self {
            child: Some(child),
            events,
            log,
            _dir: dir,
        };
        let ready = format!("http://{addr}/readyz");
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while !reqwest::get(&ready).await.is_ok_and(|r| r.status() == 200) {
            assert!(
                std::time::Instant::now() < deadline,
                "the gateway is not ready"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        gw
    }

    /// The `data` of each event of type `t` written so far.
    pub(crate) fn events_of(&self, t: &str) -> Vec<Value> {
        let text = std::fs::read_to_string(&self.events).unwrap_or_default();
        text.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|e| e["type"] == t)
            .map(|e| e["data"].clone())
            .collect()
    }

    /// The JSON log lines so far.
    pub(crate) fn log_lines(&self) -> Vec<Value> {
        self.log.lock().unwrap().clone()
    }

    /// SIGTERM, and waits for a clean exit.
    pub(crate) async fn stop(mut self) {
        let mut child = self.child.take().unwrap();
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
            .await
            .unwrap();
        assert!(status.success(), "{status:?}");
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(c) = &mut self.child {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// 100 RTP ports per gateway of this binary, apart from the other test binaries'.
fn rtp_ports() -> String {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(47_500);
    let first = NEXT.fetch_add(100, Ordering::Relaxed);
    format!("{first}-{}", first + 99)
}
