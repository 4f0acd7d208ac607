//! What the call-path scenarios share: a tansu broker with a fresh topic, the
//! Asterisk simulator, a scripted orchestrator and the gateway (in process,
//! fake speech, events to Kafka behind its spool), a reader that keeps every
//! record of the topic (duplicates included) as it arrives, and callers that
//! follow a fixed script.
//!
//! The script of a call: the greeting is heard, then the caller speaks
//! `turns` times (a 1.2 s tone the fake recogniser hears as one utterance),
//! each time once the previous answer is over, then hangs up. A fault-free
//! call of one turn publishes [`EVENTS_PER_CALL`] events: started, answered,
//! the greeting's `tts.generated`, the turn's `stt.transcribed`,
//! `agent.responded` and `tts.generated`, and ended.

#![allow(clippy::disallowed_methods)] // tests read the clock to wait

#[path = "../common/kafka.rs"]
mod kafka;
pub(crate) use crate::metrics::metric;

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::post,
};
use rdkafka::Message;
use serde_json::{Value, json};
use std::{
    collections::BTreeMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU16, Ordering},
    },
    time::Duration,
};
use vg_asterisk_sim::{SimCallId, SimConfig, SimHandle, Simulator};
use vg_testkit::{KafkaBroker, faults::Tally};
use voice_gateway::{adapter::config::load_from_str, server::Gateway};

/// Events of a fault-free call of one turn (see the module's text).
pub(crate) const EVENTS_PER_CALL: u64 = 7;
/// The events one more turn adds: `stt.transcribed`, `agent.responded`,
/// `tts.generated`.
pub(crate) const EVENTS_PER_TURN: u64 = 3;

/// Both directions on the in-process fakes.
const FAKE_SPEECH: &str = "[speech]\nstt = \"fake\"\ntts = \"fake\"\n";

/// The fake recogniser's own end of an utterance, for every stage (see
/// [`Stage::start`] for why it is long); goes after any `[speech]` section.
pub(crate) const FAKE_STT_PATIENCE: &str = "[speech.fake]\nstt_trailing_silence = \"3s\"\n";

pub(crate) const DID: &str = "+15551234567";
const CALLER: &str = "+15557654321";

/// RTP ports of each stage: 400 of their own, apart from the other
/// scenarios' (and from tests/gateway's 32,000 up).
static NEXT_PORTS: AtomicU16 = AtomicU16::new(40_000);

/// What the orchestrator does with one turn.
#[derive(Clone, Debug)]
pub(crate) enum Reply {
    /// Answers at once, repeating what it heard.
    Echo,
    /// Fails with this HTTP status.
    Status(u16),
    /// Never answers (until the stage is dropped).
    Hang,
}

/// `policy(conversation, turn)`: both 0-based, conversations in order of creation.
type Policy = Arc<dyn Fn(usize, usize) -> Reply + Send + Sync>;

#[derive(Clone)]
struct OrchState {
    policy: Policy,
    /// Turns asked per conversation.
    turns: Arc<Mutex<BTreeMap<usize, usize>>>,
    created: Arc<Mutex<usize>>,
}

/// A scripted orchestrator on a free loopback port.
pub(crate) struct Orchestrator {
    pub(crate) url: String,
    state: OrchState,
    server: tokio::task::JoinHandle<()>,
}

impl Orchestrator {
    pub(crate) async fn start(
        policy: impl Fn(usize, usize) -> Reply + Send + Sync + 'static,
    ) -> Self {
        let state = OrchState {
            policy: Arc::new(policy),
            turns: Arc::default(),
            created: Arc::default(),
        };
        let app = Router::new()
            .route("/api/v1/conversations", post(create))
            .route("/api/v1/conversations/{id}/turns", post(turn))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { url, state, server }
    }

    /// Turn requests received, over every conversation.
    pub(crate) fn turns_asked(&self) -> usize {
        self.state.turns.lock().unwrap().values().sum()
    }
}

impl Drop for Orchestrator {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn create(State(s): State<OrchState>, Json(_): Json<Value>) -> Json<Value> {
    let mut created = s.created.lock().unwrap();
    let id = *created;
    *created += 1;
    Json(json!({"conversation_id": format!("conv-{id}"), "greeting": "Hello."}))
}

async fn turn(
    State(s): State<OrchState>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let conv: usize = id.trim_start_matches("conv-").parse().unwrap_or(usize::MAX);
    let n = {
        let mut turns = s.turns.lock().unwrap();
        let n = turns.entry(conv).or_default();
        *n += 1;
        *n - 1
    };
    match (s.policy)(conv, n) {
        Reply::Echo => {
            let heard = body["text"].as_str().unwrap_or_default();
            Json(json!({"text": format!("You said {heard}.")})).into_response()
        }
        Reply::Status(code) => (
            StatusCode::from_u16(code).unwrap(),
            Json(json!({"error": "scripted failure"})),
        )
            .into_response(),
        Reply::Hang => {
            std::future::pending::<()>().await;
            StatusCode::OK.into_response()
        }
    }
}

/// Every record of a topic, read from its start by a thread of its own,
/// duplicates kept.
pub(crate) struct Topic {
    records: Arc<Mutex<Vec<Value>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Topic {
    fn read(bootstrap: String, topic: String) -> Self {
        let records: Arc<Mutex<Vec<Value>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (out, halt) = (records.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let consumer = kafka::consumer_from_start(&bootstrap, &topic, 1);
            while !halt.load(Ordering::Relaxed) {
                let Some(Ok(msg)) = consumer.poll(Duration::from_millis(100)) else {
                    continue;
                };
                let value = serde_json::from_slice(msg.payload().unwrap_or_default())
                    .expect("every record is JSON");
                out.lock().unwrap().push(value);
            }
        });
        Self {
            records,
            stop,
            thread: Some(thread),
        }
    }

    /// Every record read so far, in topic order.
    pub(crate) fn records(&self) -> Vec<Value> {
        self.records.lock().unwrap().clone()
    }

    /// Distinct events of type `t` read so far.
    pub(crate) fn count(&self, t: &str) -> usize {
        let records = self.records.lock().unwrap();
        let ids: std::collections::HashSet<&str> = records
            .iter()
            .filter(|r| r["type"] == t)
            .filter_map(|r| r["id"].as_str())
            .collect();
        ids.len()
    }

    /// The gateway's call id of the call on `channel` (from its `call.started`).
    pub(crate) fn call_on(&self, channel: &str) -> Option<String> {
        let records = self.records.lock().unwrap();
        records
            .iter()
            .find(|r| r["type"] == "call.started" && r["data"]["channel_id"] == channel)
            .and_then(|r| r["data"]["call_id"].as_str().map(str::to_owned))
    }

    /// Distinct event types of one call, with how many of each.
    pub(crate) fn types_of(&self, call: &str) -> BTreeMap<String, u64> {
        let records = self.records.lock().unwrap();
        let mut seen = std::collections::HashSet::new();
        let mut out = BTreeMap::new();
        for r in records.iter().filter(|r| r["data"]["call_id"] == call) {
            if seen.insert(r["id"].as_str().unwrap_or_default().to_owned()) {
                *out.entry(r["type"].as_str().unwrap_or_default().to_owned())
                    .or_default() += 1;
            }
        }
        out
    }

    /// `call.ended` reasons with how many calls ended so, the `excluded`
    /// calls left out: `caller_hangup 3, channel_lost 2`.
    pub(crate) fn reasons(&self, excluded: &[String]) -> String {
        let mut seen = std::collections::HashSet::new();
        let mut out: BTreeMap<String, u64> = BTreeMap::new();
        for r in self.records() {
            let call = r["data"]["call_id"].as_str().unwrap_or_default();
            if r["type"] == "call.ended"
                && !excluded.iter().any(|c| c == call)
                && seen.insert(call.to_owned())
            {
                let reason = r["data"]["reason"].as_str().unwrap_or("?").to_owned();
                *out.entry(reason).or_default() += 1;
            }
        }
        let parts: Vec<String> = out.iter().map(|(r, n)| format!("{r} {n}")).collect();
        parts.join(", ")
    }

    /// The events of other types than a scripted call's, with how many of
    /// each, the `control` call left out: `error.tts_failed 1`, or `none`.
    pub(crate) fn unscripted(&self, control: &str) -> String {
        const SCRIPTED: [&str; 7] = [
            "call.started",
            "call.answered",
            "call.ended",
            "stt.transcribed",
            "agent.responded",
            "tts.generated",
            "error.llm_timeout",
        ];
        let mut ids = std::collections::HashSet::new();
        let mut out: BTreeMap<String, u64> = BTreeMap::new();
        for r in self.records.lock().unwrap().iter() {
            let t = r["type"].as_str().unwrap_or_default();
            if r["data"]["call_id"] != control
                && !SCRIPTED.contains(&t)
                && ids.insert(r["id"].as_str().unwrap_or_default().to_owned())
            {
                *out.entry(t.to_owned()).or_default() += 1;
            }
        }
        let parts: Vec<String> = out.iter().map(|(t, n)| format!("{t} {n}")).collect();
        if parts.is_empty() {
            "none".into()
        } else {
            parts.join(", ")
        }
    }

    /// Every record counted, but those of the `excluded` calls (the control call).
    /// (Printed: how many distinct events of each type it counted.)
    pub(crate) fn tally_without(&self, excluded: &[String]) -> Tally {
        let mut tally = Tally::default();
        let mut census: BTreeMap<String, u64> = BTreeMap::new();
        let mut ids = std::collections::HashSet::new();
        for r in self.records() {
            let call = r["data"]["call_id"].as_str().unwrap_or_default();
            if !excluded.iter().any(|c| c == call) {
                tally.add(&r);
                if ids.insert(r["id"].as_str().unwrap_or_default().to_owned()) {
                    *census
                        .entry(r["type"].as_str().unwrap_or_default().to_owned())
                        .or_default() += 1;
                }
            }
        }
        eprintln!("events counted, by type: {census:?}");
        tally
    }
}

impl Drop for Topic {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The broker, the simulator, the orchestrator and the gateway of one scenario.
pub(crate) struct Stage {
    pub(crate) sim: SimHandle,
    pub(crate) base: String,
    pub(crate) topic: Topic,
    pub(crate) orch: Orchestrator,
    pub(crate) admission: Arc<voice_gateway::application::admission::CallAdmission>,
    stop: tokio::sync::oneshot::Sender<()>,
    running: tokio::task::JoinHandle<Result<(), voice_gateway::server::ServerError>>,
    _spool: tempfile::TempDir,
    _broker: KafkaBroker,
}

impl Stage {
    /// Starts everything; `extra` is appended to the gateway's configuration
    /// (sections the stage does not write itself).
    ///
    /// The script must yield the same events whatever the load: with a
    /// hundred calls on two busy cores a caller's 1.2 s tone can reach the
    /// gateway in bursts, and the default 200 ms endpointing then hears two
    /// turns, the second barging in on the first's answer. So turns end after
    /// 1.5 s of silence (the fake recogniser's after 3 s), barge-in is off,
    /// and the orchestrator has 5 s to answer.
    pub(crate) async fn start(orch: Orchestrator, extra: &str) -> Stage {
        let speech = format!("{FAKE_SPEECH}{FAKE_STT_PATIENCE}");
        Self::start_speaking(orch, &speech, extra, Vec::new()).await
    }

    /// [`Stage::start`] with `speech` as the `[speech]` section and
    /// `VOICEGW__…` overrides of the sections the stage writes.
    pub(crate) async fn start_speaking(
        orch: Orchestrator,
        speech: &str,
        extra: &str,
        env: Vec<(String, String)>,
    ) -> Stage {
        // VG_FAULTS_LOG=<file>: the gateway's log (of every stage of the
        // process, appended), to read after a failure.
        static LOG: std::sync::Once = std::sync::Once::new();
        LOG.call_once(|| {
            if let Some(path) = std::env::var_os("VG_FAULTS_LOG") {
                let file = std::fs::File::create(path).expect("VG_FAULTS_LOG is writable");
                let _ = tracing_subscriber::fmt()
                    .with_env_filter("info,voice_gateway=debug")
                    .with_writer(std::sync::Mutex::new(file))
                    .with_ansi(false)
                    .try_init();
            }
        });
        let broker = tokio::task::spawn_blocking(|| {
            let broker = KafkaBroker::start().expect("tansu starts");
            broker.create_topic("calls", 1).unwrap();
            broker
        })
        .await
        .unwrap();
        let sim = Simulator::start(SimConfig::default()).await.unwrap();
        let (user, pass) = sim.credentials();
        let spool = tempfile::tempdir().unwrap();
        let first = NEXT_PORTS.fetch_add(400, Ordering::Relaxed);
        let text = format!(
            "[http]\nlisten = \"127.0.0.1:0\"\n\
             [ari]\nurl = \"{}\"\nusername = \"{user}\"\npassword = \"{pass}\"\nreconnect_max_delay = \"50ms\"\n\
             [lifecycle]\ndrain_deadline = \"2s\"\n{speech}\
             [media]\nrtp_port_range = \"{first}-{}\"\n\
             [session]\nsilence_timeout = \"10m\"\nendpointing = \"1500ms\"\nbarge_in = false\n\
             [orchestrator]\nurl = \"{}\"\nreply_timeout = \"5s\"\n\
             [kafka]\nbrokers = \"{}\"\ntopic = \"calls\"\nspool_dir = \"{}\"\nmessage_timeout = \"5s\"\n{extra}",
            sim.base_url(),
            first + 399,
            orch.url,
            broker.bootstrap(),
            spool.path().display(),
        );
        let gw = Gateway::bind(load_from_str(&text, env).unwrap())
            .await
            .unwrap();
        let base = format!("http://{}", gw.local_addr());
        let admission = gw.state().admission.clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let running = tokio::spawn(gw.run(async {
            let _ = stopped.await;
        }));
        let topic = Topic::read(broker.bootstrap(), "calls".into());
        let stage = Stage {
            sim,
            base,
            topic,
            orch,
            admission,
            stop,
            running,
            _spool: spool,
            _broker: broker,
        };
        // Ready, and the simulator holding the events socket: a call placed
        // before it registered the app finds no app (Asterisk's "Stasis app
        // doesn't exist") and is gone at once, unseen by the gateway.
        stage
            .until("ready", 20, async |s| {
                s.ready().await && s.sim.app_connected("voice-gateway")
            })
            .await;
        stage
    }

    /// Events the gateway published (taken for delivery or refused), once
    /// no more arrive: unchanged for a second, within 60 s.
    pub(crate) async fn published(&self) -> u64 {
        let count = async || {
            metric(&self.base, "voicegw_kafka_events_accepted_total").await
                + metric(&self.base, "voicegw_kafka_spool_full_total").await
        };
        let mut last = (count().await, std::time::Instant::now());
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let n = count().await;
            if n != last.0 {
                last = (n, std::time::Instant::now());
            }
            if last.1.elapsed() >= Duration::from_secs(1) {
                return last.0 as u64;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the gateway's events never settled"
            );
        }
    }

    /// Whether `/readyz` answers 200.
    pub(crate) async fn ready(&self) -> bool {
        reqwest::get(format!("{}/readyz", self.base))
            .await
            .is_ok_and(|r| r.status() == 200)
    }

    /// Polls `cond` every 20 ms; fails naming `what` after `secs` seconds.
    pub(crate) async fn until(
        &self,
        what: &str,
        secs: u64,
        mut cond: impl AsyncFnMut(&Stage) -> bool,
    ) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        while !cond(self).await {
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}; live calls {}, events {:?}; calls behind the \
                 others: {:?}",
                self.admission.live_calls(),
                self.census(),
                self.behind()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The calls with fewer events than the most any call has, with their
    /// events' types (what a timeout failure names).
    pub(crate) fn behind(&self) -> Vec<(String, BTreeMap<String, u64>)> {
        let records = self.topic.records();
        let ids: std::collections::BTreeSet<String> = records
            .iter()
            .filter_map(|r| r["data"]["call_id"].as_str().map(str::to_owned))
            .collect();
        let per_call: Vec<_> = ids
            .into_iter()
            .map(|id| {
                let types = self.topic.types_of(&id);
                (id, types)
            })
            .collect();
        // A turn asked and never answered first, then the fewest events.
        let unanswered = |t: &BTreeMap<String, u64>| {
            t.get("stt.transcribed") >= t.get("tts.generated") && t.contains_key("stt.transcribed")
        };
        let mut behind: Vec<_> = per_call
            .into_iter()
            .filter(|(_, t)| unanswered(t))
            .collect();
        behind.truncate(5);
        behind
    }

    /// How many distinct events of each type were read so far.
    pub(crate) fn census(&self) -> BTreeMap<String, usize> {
        let mut ids = std::collections::HashSet::new();
        let mut out = BTreeMap::new();
        for r in self.topic.records() {
            if ids.insert(r["id"].as_str().unwrap_or_default().to_owned()) {
                *out.entry(r["type"].as_str().unwrap_or_default().to_owned())
                    .or_default() += 1;
            }
        }
        out
    }

    /// Places `n` calls in steps of 20, each step once the previous one is
    /// greeted; returns them once every caller heard the whole greeting.
    pub(crate) async fn place(&self, n: usize) -> Vec<SimCallId> {
        let mut calls = Vec::with_capacity(n);
        let greeted = self.topic.count("tts.generated");
        while calls.len() < n {
            let step = 20.min(n - calls.len());
            calls.extend((0..step).map(|_| self.sim.place_inbound_call(DID, CALLER)));
            let want = greeted + calls.len();
            self.until(&format!("{want} greetings"), 60, async |s| {
                s.topic.count("tts.generated") >= want
            })
            .await;
        }
        calls
    }

    /// The gateway's call ids of `calls` (read from their `call.started`).
    pub(crate) async fn ids(&self, calls: &[SimCallId]) -> Vec<String> {
        let channels: Vec<String> = calls
            .iter()
            .map(|c| self.sim.channel_of(*c).expect("the call's channel"))
            .collect();
        let mut ids = Vec::new();
        for ch in &channels {
            self.until(&format!("call.started of {ch}"), 30, async |s| {
                s.topic.call_on(ch).is_some()
            })
            .await;
            ids.push(self.topic.call_on(ch).unwrap());
        }
        ids
    }

    /// Every caller speaks once; waits until `answers` more `tts.generated`
    /// were published (each turn's answer, or its fallback sentence).
    pub(crate) async fn speak(&self, calls: &[SimCallId]) {
        let before = self.topic.count("tts.generated");
        for c in calls {
            self.sim.caller_say(*c, &speech());
        }
        let want = before + calls.len();
        self.until(&format!("{want} answers"), 90, async |s| {
            s.topic.count("tts.generated") >= want
        })
        .await;
    }

    /// Hangs every caller up that is still there, and waits until the
    /// gateway holds no call and Asterisk has nothing of it left.
    pub(crate) async fn hang_up(&self, calls: &[SimCallId]) {
        for c in calls {
            self.sim.caller_hangup(*c);
        }
        self.settled().await;
    }

    /// Waits until the gateway holds no call and Asterisk has nothing left.
    pub(crate) async fn settled(&self) {
        self.until("no live call", 90, async |s| s.admission.live_calls() == 0)
            .await;
        self.until("Asterisk emptied", 60, async |s| {
            s.sim.channel_ids().is_empty() && s.sim.bridge_ids().is_empty()
        })
        .await;
    }

    /// Waits until `n` distinct events were read and a `call.ended` for
    /// each of `calls` calls (or 120 s passed: the outcome then shows what
    /// is missing). The spool may still be sending after the calls ended.
    pub(crate) async fn delivered(&self, n: u64, calls: usize) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
        loop {
            let census = self.census();
            let ended = census.get("call.ended").copied().unwrap_or(0);
            let all = census.values().sum::<usize>();
            if (all >= n as usize && ended >= calls) || tokio::time::Instant::now() > deadline {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// One fault-free call of the script, first: checks that it publishes
    /// exactly the events the expectations count on, and returns its id.
    pub(crate) async fn control_call(&self) -> String {
        let calls = self.place(1).await;
        let id = self.ids(&calls).await.remove(0);
        self.speak(&calls).await;
        self.hang_up(&calls).await;
        let expected: BTreeMap<String, u64> = [
            ("call.started", 1),
            ("call.answered", 1),
            ("agent.responded", 1),
            ("tts.generated", 2),
            ("stt.transcribed", 1),
            ("call.ended", 1),
        ]
        .into_iter()
        .map(|(t, n)| (t.to_owned(), n))
        .collect();
        self.until("the control call's events", 30, async |s| {
            s.topic.types_of(&id) == expected
        })
        .await;
        assert_eq!(expected.values().sum::<u64>(), EVENTS_PER_CALL);
        id
    }

    /// Stops the gateway (drain, exit).
    pub(crate) async fn stop(self) {
        self.stop.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(20), self.running)
            .await
            .expect("the gateway exits within 20 s")
            .unwrap()
            .unwrap();
    }
}

/// A loud 1.2 s tone: the fake recogniser hears it as one utterance.
pub(crate) fn speech() -> Vec<i16> {
    (0..9600)
        .map(|i| (9000.0 * (2.0 * std::f64::consts::PI * 300.0 * i as f64 / 8000.0).sin()) as i16)
        .collect()
}

/// A Wyoming STT and TTS server in one (a connection serves whichever it is
/// asked), like `wyoming-faster-whisper` and `wyoming-piper` in shape: a
/// transcript `heard N ms` per utterance, and a 16 kHz tone of 60 ms per
/// character per text. Once [`Wyoming::fail`] is called it drops every
/// connection at its next event: open ones mid-stream, new ones at once.
pub(crate) struct Wyoming {
    pub(crate) address: String,
    failing: Arc<AtomicBool>,
    server: tokio::task::JoinHandle<()>,
}

impl Wyoming {
    pub(crate) async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = format!("tcp://{}", listener.local_addr().unwrap());
        let failing = Arc::new(AtomicBool::new(false));
        let flag = failing.clone();
        let server = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                tokio::spawn(wyoming_serve(tcp, flag.clone()));
            }
        });
        Self {
            address,
            failing,
            server,
        }
    }

    /// From now on every connection is dropped.
    pub(crate) fn fail(&self) {
        self.failing.store(true, Ordering::SeqCst);
    }
}

impl Drop for Wyoming {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn wyoming_serve(tcp: tokio::net::TcpStream, failing: Arc<AtomicBool>) {
    use tokio::io::AsyncWriteExt;
    let (read, mut write) = tcp.into_split();
    let mut read = tokio::io::BufReader::new(read);
    let mut audio_bytes = 0;
    while let Some((kind, data, payload)) = wyoming_read(&mut read).await {
        if failing.load(Ordering::SeqCst) {
            return;
        }
        let mut out = Vec::new();
        match kind.as_str() {
            "audio-chunk" => audio_bytes += payload.len(),
            "audio-stop" => {
                let text = format!("heard {} ms", audio_bytes / 32);
                wyoming_write(&mut out, "transcript", &json!({"text": text}), &[]);
            }
            "synthesize" => {
                let chars = data["text"].as_str().unwrap_or_default().chars().count();
                let format = json!({"rate": 16000, "width": 2, "channels": 1});
                wyoming_write(&mut out, "audio-start", &format, &[]);
                let pcm: Vec<u8> = (0..chars * 960)
                    .flat_map(|i| {
                        let x = 2.0 * std::f64::consts::PI * 220.0 * i as f64 / 16000.0;
                        ((8000.0 * x.sin()) as i16).to_le_bytes()
                    })
                    .collect();
                for chunk in pcm.chunks(3200) {
                    wyoming_write(&mut out, "audio-chunk", &format, chunk);
                }
                wyoming_write(&mut out, "audio-stop", &json!({}), &[]);
            }
            _ => {}
        }
        if !out.is_empty() && write.write_all(&out).await.is_err() {
            return;
        }
    }
}

/// One event: the header line, its data block, its payload.
async fn wyoming_read(
    read: &mut tokio::io::BufReader<tokio::net::tcp::OwnedReadHalf>,
) -> Option<(String, Value, Vec<u8>)> {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt};
    let mut line = String::new();
    if read.read_line(&mut line).await.ok()? == 0 {
        return None;
    }
    let header: Value = serde_json::from_str(&line).ok()?;
    let mut data = header.get("data").cloned().unwrap_or_else(|| json!({}));
    let length = |k: &str| header[k].as_u64().unwrap_or(0) as usize;
    let mut block = vec![0; length("data_length")];
    read.read_exact(&mut block).await.ok()?;
    if !block.is_empty()
        && let Ok(Value::Object(more)) = serde_json::from_slice(&block)
    {
        data.as_object_mut()?.extend(more);
    }
    let mut payload = vec![0; length("payload_length")];
    read.read_exact(&mut payload).await.ok()?;
    Some((header["type"].as_str()?.to_owned(), data, payload))
}

fn wyoming_write(out: &mut Vec<u8>, kind: &str, data: &Value, payload: &[u8]) {
    let block = data.to_string();
    let header = json!({
        "type": kind,
        "version": "1.5.4",
        "data_length": block.len(),
        "payload_length": payload.len(),
    });
    out.extend_from_slice(header.to_string().as_bytes());
    out.push(b'\n');
    out.extend_from_slice(block.as_bytes());
    out.extend_from_slice(payload);
}

/// The sum of a metric's series whose printed name starts with `prefix`
/// (labels included, e.g. `voicegw_speech_fallbacks_total{direction="stt"`).
pub(crate) async fn metric_sum(base: &str, prefix: &str) -> f64 {
    let text = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}
