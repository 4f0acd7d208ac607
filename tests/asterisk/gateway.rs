//! The gateway's own binary, started on a real Asterisk: configuration from a
//! file and `VOICEGW__…` variables, its JSON log kept for assertions, its
//! events read back from the events file, its call API called with a JWT.

use jsonwebtoken::{EncodingKey, Header, encode};
use serde_json::{Value, json};
use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU16, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};
use vg_testkit::{AsteriskServer, wait_until};

const BIN: &str = env!("CARGO_BIN_EXE_voice-gateway");

/// The gateway binary: cargo's build for these tests, or `VG_GATEWAY_BIN`
/// (`make test-ha` runs a release build: two debug gateways with 20 calls
/// each fill a core).
fn binary() -> PathBuf {
    std::env::var_os("VG_GATEWAY_BIN").map_or_else(|| PathBuf::from(BIN), PathBuf::from)
}
/// HS256 secret of the test tokens (at least 32 bytes).
const JWT_SECRET: &str = "real-asterisk-tests-secret-0123456789";
/// Log lines that mean audio or state was lost; none may appear in any test.
pub(crate) const FORBIDDEN: [&str; 2] = ["media leg did not take a command", "ignored transition"];

/// RTP ports of each gateway: 100 of their own, far from Asterisk's range.
static NEXT_PORTS: AtomicU16 = AtomicU16::new(40_000);

/// How a test wants its gateway.
#[derive(Debug, Clone)]
pub(crate) struct GatewayConfig {
    /// TOML appended to the configuration file (`[[routes]]`, `[session]`…).
    pub(crate) toml: String,
    /// Extra `VOICEGW__…` variables.
    pub(crate) env: Vec<(String, String)>,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            toml: ROUTES.into(),
            env: Vec::new(),
        }
    }
}

/// Every DID routes to tenant `acme` and the built-in agent.
pub(crate) const ROUTES: &str = "[[routes]]\ndid = \"*\"\ntenant = \"acme\"\nagent = \"builtin\"\n";

pub(crate) struct Gateway {
    child: Option<Child>,
    pub(crate) base: String,
    log: Arc<Mutex<Vec<String>>>,
    events: PathBuf,
    _dir: tempfile::TempDir,
}

impl Gateway {
    /// Starts the binary on `ast` and waits until it is ready (ARI connected).
    pub(crate) fn start(ast: &AsteriskServer, cfg: &GatewayConfig) -> Gateway {
        let dir = tempfile::tempdir().unwrap();
        let events = dir.path().join("events.jsonl");
        let file = dir.path().join("gateway.toml");
        std::fs::write(&file, &cfg.toml).unwrap();
        let first = NEXT_PORTS.fetch_add(100, Ordering::Relaxed);
        let mut cmd = Command::new(binary());
        cmd.arg("--config")
            .arg(&file)
            .env("VOICEGW__HTTP__LISTEN", "127.0.0.1:0")
            .env(
                "VOICEGW__ARI__URL",
                format!("http://127.0.0.1:{}", ast.http_port()),
            )
            .env("VOICEGW__ARI__USERNAME", ast.ari_user())
            .env("VOICEGW__ARI__PASSWORD", ast.ari_password())
            .env("VOICEGW__ARI__APP", ast.stasis_app())
            .env("VOICEGW__ARI__RECONNECT_MAX_DELAY", "500ms")
            .env("VOICEGW__SPEECH__STT", "fake")
            .env("VOICEGW__SPEECH__TTS", "fake")
            .env(
                "VOICEGW__MEDIA__RTP_PORT_RANGE",
                format!("{first}-{}", first + 99),
            )
            .env("VOICEGW__LOG__FORMAT", "json")
            // VG_GATEWAY_LOG: a tracing filter for debugging a test's gateway.
            .env(
                "VOICEGW__LOG__LEVEL",
                std::env::var("VG_GATEWAY_LOG").unwrap_or_else(|_| "info".into()),
            )
            .env("VOICEGW__EVENTS__PATH", &events)
            .env("VOICEGW__AUTH__JWT_SECRET", JWT_SECRET)
            .envs(cfg.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("the gateway binary starts");
        let (addr, lines) = crate::process::started_at(&mut child);
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&log);
        // Keep reading so the child never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let gw = Gateway {
            child: Some(child),
            base: format!("http://{addr}"),
            log,
            events,
            _dir: dir,
        };
        assert!(
            wait_until(Duration::from_secs(20), || gw.ready()),
            "the gateway never became ready: {:?}",
            gw.log_tail()
        );
        gw
    }

    /// `GET path` without a token: status and body text (`/metrics`, `/readyz`).
    pub(crate) fn get_text(&self, path: &str) -> (u16, String) {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .new_agent();
        match agent.get(&format!("{}{path}", self.base)).call() {
            Ok(mut r) => (
                r.status().as_u16(),
                r.body_mut().read_to_string().unwrap_or_default(),
            ),
            Err(e) => (0, e.to_string()),
        }
    }

    /// Whether `/readyz` answers 200.
    pub(crate) fn ready(&self) -> bool {
        matches!(self.http("GET", "/readyz", None, false), (200, _))
    }

    /// Every event published so far.
    pub(crate) fn events(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.events)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Events of one call, by type.
    pub(crate) fn types_of(&self, call: &str) -> Vec<String> {
        self.events()
            .iter()
            .filter(|e| e["subject"] == call)
            .map(|e| e["type"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Waits until the call `id` has published `n` events of type `t`
    /// (the greeting's and an answer's `tts.generated`: the answer played out).
    pub(crate) fn until_count(&self, t: &str, id: &str, n: usize, timeout: Duration) {
        let count = || self.types_of(id).iter().filter(|x| *x == t).count();
        assert!(
            wait_until(timeout, || count() >= n),
            "timed out after {timeout:?} waiting for {n} {t} of call {id}; its events: {:?}",
            self.types_of(id)
        );
    }

    /// Waits for the first event matching `pred`; fails with the events seen.
    pub(crate) fn until_event(
        &self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        let mut found = None;
        let ok = wait_until(timeout, || {
            found = self.events().into_iter().find(|e| pred(e));
            found.is_some()
        });
        assert!(
            ok,
            "timed out after {timeout:?} waiting for {what}; events: {:?}; log: {:?}",
            self.events()
                .iter()
                .map(|e| format!("{} {}", e["type"], e["subject"]))
                .collect::<Vec<_>>(),
            self.log_tail()
        );
        found.unwrap()
    }

    /// Waits for an event of type `t` (of `call` when given).
    pub(crate) fn until_type(&self, t: &str, call: Option<&str>, timeout: Duration) -> Value {
        self.until_event(t, timeout, |e| {
            e["type"] == t && call.is_none_or(|c| e["subject"] == c)
        })
    }

    /// How much audio the agent said on `call`: the `audio_ms` of its
    /// `tts.generated` events.
    pub(crate) fn spoken_ms(&self, call: &str) -> u64 {
        self.events()
            .iter()
            .filter(|e| e["subject"] == call && e["type"] == "tts.generated")
            .map(|e| e["data"]["audio_ms"].as_u64().unwrap_or(0))
            .sum()
    }

    /// The call id of the `n`th call that started (0-based).
    pub(crate) fn nth_call(&self, n: usize, timeout: Duration) -> String {
        let mut id = None;
        let ok = wait_until(timeout, || {
            id = self
                .events()
                .iter()
                .filter(|e| e["type"] == "call.started")
                .nth(n)
                .map(|e| e["subject"].as_str().unwrap().to_owned());
            id.is_some()
        });
        assert!(ok, "no call #{n} started; log: {:?}", self.log_tail());
        id.unwrap()
    }

    /// The log lines so far.
    pub(crate) fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    fn log_tail(&self) -> Vec<String> {
        let log = self.log();
        log[log.len().saturating_sub(20)..].to_vec()
    }

    /// No line of the log says audio or a transition was lost.
    pub(crate) fn assert_clean_log(&self) {
        let bad: Vec<String> = self
            .log()
            .into_iter()
            .filter(|l| FORBIDDEN.iter().any(|f| l.contains(f)))
            .collect();
        assert!(bad.is_empty(), "the gateway logged: {bad:#?}");
    }

    /// A bearer token of tenant `acme` with both scopes.
    fn token() -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        encode(
            &Header::default(),
            &json!({"sub": "tests", "tenant_id": "acme", "scope": "calls:read calls:write",
                "iat": now, "exp": now + 3600}),
            &EncodingKey::from_secret(JWT_SECRET.as_bytes()),
        )
        .unwrap()
    }

    /// One request to the gateway's HTTP API; the status and JSON body (null if none).
    pub(crate) fn http(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        auth: bool,
    ) -> (u16, Value) {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .new_agent();
        let url = format!("{}{path}", self.base);
        let token = format!("Bearer {}", Self::token());
        let response = match (method, body) {
            ("GET", _) => {
                let mut r = agent.get(&url);
                if auth {
                    r = r.header("Authorization", &token);
                }
                r.call()
            }
            (_, body) => {
                let mut r = agent.post(&url);
                if auth {
                    r = r.header("Authorization", &token);
                }
                r.send_json(body.unwrap_or(json!({})))
            }
        };
        match response {
            Ok(mut r) => {
                let status = r.status().as_u16();
                let text = r.body_mut().read_to_string().unwrap_or_default();
                (status, serde_json::from_str(&text).unwrap_or(Value::Null))
            }
            Err(e) => (0, json!({"error": e.to_string()})),
        }
    }

    /// The value of a counter or gauge on `/metrics` (0 when absent).
    pub(crate) fn metric(&self, name: &str) -> f64 {
        let text = ureq::get(&format!("{}/metrics", self.base))
            .call()
            .ok()
            .and_then(|mut r| r.body_mut().read_to_string().ok())
            .unwrap_or_default();
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
            .unwrap_or(0.0)
    }

    /// The call's record from the API.
    pub(crate) fn call_record(&self, call: &str) -> Value {
        self.http("GET", &format!("/v1/calls/{call}"), None, true).1
    }

    /// SIGTERM, then how long the process took to exit (`None`: it did not
    /// within 20 s and was killed).
    pub(crate) fn terminate(&mut self) -> Option<Duration> {
        let mut child = self.child.take()?;
        let at = std::time::Instant::now();
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let exited = wait_until(Duration::from_secs(20), || {
            matches!(child.try_wait(), Ok(Some(_)))
        });
        let took = at.elapsed();
        if !exited {
            let _ = child.kill();
        }
        let _ = child.wait();
        exited.then_some(took)
    }

    /// SIGKILL: no shutdown runs, nothing is cleaned up on Asterisk.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the process with SIGTERM and waits for it.
    pub(crate) fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            if !wait_until(Duration::from_secs(20), || {
                matches!(child.try_wait(), Ok(Some(_)))
            }) {
                let _ = child.kill();
            }
            let _ = child.wait();
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        // VG_DUMP_LOG=<dir>: keep each gateway's whole log there, for
        // debugging a test (the assertions show only the tail).
        if let Ok(dir) = std::env::var("VG_DUMP_LOG") {
            let name = self.base.replace([':', '/', '.'], "_");
            let _ = std::fs::write(format!("{dir}/{name}.log"), self.log().join("\n"));
        }
        self.stop();
    }
}
