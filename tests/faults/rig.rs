//! What the fault scenarios share: the engines (real redis-server, tansu,
//! PostgreSQL on free ports), the gateway binary as a child process (so it
//! can be SIGKILLed), a scripted call, and the topic read back into a
//! [`Tally`].

use rdkafka::{
    ClientConfig, Message, Offset, TopicPartitionList,
    consumer::{BaseConsumer, Consumer},
};
use std::{
    path::Path,
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};
use tokio_postgres::NoTls;
use vg_asterisk_sim::{SimCallId, SimHandle};
use vg_testkit::{KafkaBroker, PostgresServer, RedisServer, faults::Tally};

const BIN: &str = env!("CARGO_BIN_EXE_voice-gateway");
/// The shipped "technical difficulties" prompt.
const PROMPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/assets/prompts/technical-difficulties.wav"
);
pub(crate) const DID: &str = "+15551234567";
const CALLER: &str = "+15557654321";

/// Redis, a broker (stopped and started on the same port) with the topic,
/// and, when asked for, PostgreSQL with the gateway's schema and a tenant
/// whose DID routes calls (without it the default route takes them).
pub(crate) struct Engines {
    pub(crate) redis: RedisServer,
    pub(crate) broker: Option<KafkaBroker>,
    pub(crate) kafka_port: u16,
    pub(crate) topic: String,
    pub(crate) pg: Option<PostgresServer>,
}

impl Engines {
    pub(crate) async fn start(with_pg: bool) -> Self {
        let redis = RedisServer::start().expect("redis-server starts");
        let broker = KafkaBroker::start().expect("tansu starts");
        let topic = format!("calls-{}", uuid::Uuid::new_v4().simple());
        broker.create_topic(&topic, 1).unwrap();
        Self {
            redis,
            kafka_port: broker.port(),
            broker: Some(broker),
            topic,
            pg: if with_pg {
                Some(routed_pg().await)
            } else {
                None
            },
        }
    }

    pub(crate) fn pg(&mut self) -> &mut PostgresServer {
        self.pg.as_mut().expect("started with PostgreSQL")
    }
}

/// PostgreSQL with the gateway's schema, tenant `acme` and its DID.
async fn routed_pg() -> PostgresServer {
    let pg = PostgresServer::start().expect("postgres starts");
    sql(&pg.url("postgres"))
        .await
        .batch_execute("CREATE DATABASE gw")
        .await
        .unwrap();
    let mut db = sql(&pg.url("gw")).await;
    voice_gateway::adapter::postgres::migrate(&mut db)
        .await
        .unwrap();
    db.batch_execute(&format!(
            "INSERT INTO tenants (id) VALUES ('acme');
             INSERT INTO dids (did_pattern, tenant_id, agent_id) VALUES ('{DID}', 'acme', 'builtin')"
        ))
        .await
        .unwrap();
    pg
}

impl Engines {
    /// Stops the broker (its in-memory data goes with it).
    pub(crate) fn stop_broker(&mut self) {
        self.broker = None;
    }

    /// A fresh broker on the same port, with the topic.
    pub(crate) fn start_broker(&mut self) {
        let broker = KafkaBroker::start_on(self.kafka_port).expect("tansu restarts");
        broker.create_topic(&self.topic, 1).unwrap();
        self.broker = Some(broker);
    }

    /// Call records in PostgreSQL.
    pub(crate) async fn history_rows(&self) -> i64 {
        let url = self.pg.as_ref().expect("started with PostgreSQL").url("gw");
        sql(&url)
            .await
            .query_one("SELECT count(*) FROM call_records", &[])
            .await
            .unwrap()
            .get(0)
    }

    /// Reads the topic from the start into a tally until `done` holds or
    /// `secs` pass (then returns what it has).
    pub(crate) async fn read_back(
        &self,
        secs: u64,
        done: impl Fn(&Tally) -> bool + Send + 'static,
    ) -> Tally {
        let bootstrap = format!("127.0.0.1:{}", self.kafka_port);
        let topic = self.topic.clone();
        tokio::task::spawn_blocking(move || {
            let consumer = consumer(&bootstrap, &topic);
            let mut tally = Tally::default();
            let end = Instant::now() + Duration::from_secs(secs);
            while !done(&tally) && Instant::now() < end {
                if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
                    tally.add(&serde_json::from_slice(m.payload().unwrap_or_default()).unwrap());
                }
            }
            tally
        })
        .await
        .unwrap()
    }
}

fn consumer(bootstrap: &str, topic: &str) -> BaseConsumer {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set(
            "group.id",
            format!("vg-faults-{}", uuid::Uuid::new_v4().simple()),
        )
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)
        .unwrap();
    consumer.assign(&tpl).unwrap();
    consumer
}

/// An admin connection (its driver runs on its own task).
pub(crate) async fn sql(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, NoTls).await.unwrap();
    tokio::spawn(conn);
    client
}

/// The gateway binary, killed if still running when dropped.
pub(crate) struct Gw {
    child: Option<Child>,
    pub(crate) base: String,
}

/// How to start the gateway.
pub(crate) struct GwOpts<'a> {
    pub(crate) spool: &'a Path,
    /// `first-last` RTP ports, one range per scenario.
    pub(crate) rtp: &'a str,
    /// RLIMIT_FSIZE in KiB (with SIGXFSZ ignored): a disk that fills up.
    pub(crate) fsize_kib: Option<u64>,
}

impl Gw {
    pub(crate) async fn spawn(sim: &SimHandle, e: &Engines, o: &GwOpts<'_>) -> Gw {
        let (user, pass) = sim.credentials();
        let mut cmd = match o.fsize_kib {
            // An ignored signal stays ignored across exec; the limit is inherited.
            Some(kib) => {
                let mut c = Command::new("bash");
                c.args([
                    "-c",
                    &format!("trap '' XFSZ; ulimit -f {kib}; exec \"$0\""),
                    BIN,
                ]);
                c
            }
            None => Command::new(BIN),
        };
        let env = [
            ("HTTP__LISTEN", "127.0.0.1:0".to_owned()),
            ("ARI__URL", sim.base_url()),
            ("ARI__USERNAME", user),
            ("ARI__PASSWORD", pass),
            ("ARI__RECONNECT_MAX_DELAY", "100ms".into()),
            ("SPEECH__STT", "fake".into()),
            ("SPEECH__TTS", "fake".into()),
            // A synthesis that fails under load (the fake's first audio
            // later than the first-byte timeout on a starved machine) is
            // heard as the prompt, not as silence: without it a greeting
            // lost so leaves its caller waiting for one that never comes.
            ("SPEECH__TTS_FAILURE_PROMPT", PROMPT.into()),
            ("SESSION__SILENCE_TIMEOUT", "10m".into()),
            ("LIFECYCLE__DRAIN_DEADLINE", "2s".into()),
            ("MEDIA__RTP_PORT_RANGE", o.rtp.into()),
            ("LOG__FORMAT", "json".into()),
            ("KAFKA__BROKERS", format!("127.0.0.1:{}", e.kafka_port)),
            ("KAFKA__TOPIC", e.topic.clone()),
            ("KAFKA__SPOOL_DIR", o.spool.display().to_string()),
            ("KAFKA__MESSAGE_TIMEOUT", "2s".into()),
            ("REDIS__URL", e.redis.url()),
            ("REDIS__GATEWAY_INSTANCE", "gw-faults".into()),
        ];
        let pg = e.pg.iter().flat_map(|pg| {
            [
                ("POSTGRES__URL", pg.url("gw")),
                ("POSTGRES__MAX_BACKOFF", "500ms".into()),
                ("POSTGRES__CONNECT_TIMEOUT", "2s".into()),
            ]
        });
        for (k, v) in env.into_iter().chain(pg) {
            cmd.env(format!("VOICEGW__{k}"), v);
        }
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (addr, lines) = crate::process::started_at(&mut child);
        // Keep reading so the child never blocks on a full pipe; shown with
        // VG_FAULTS_LOG=1 (warnings and errors only).
        let show = std::env::var_os("VG_FAULTS_LOG").is_some();
        std::thread::spawn(move || {
            for l in lines.map_while(Result::ok) {
                if show && (l.contains("\"WARN\"") || l.contains("\"ERROR\"")) {
                    eprintln!("gateway: {l}");
                }
            }
        });
        let gw = Gw {
            child: Some(child),
            base: format!("http://{addr}"),
        };
        // Ready, and the simulator holding its events socket (a call placed
        // before the app is registered is gone at once, unseen).
        until("the gateway ready", 30, async || {
            reqwest::get(format!("{}/readyz", gw.base))
                .await
                .is_ok_and(|r| r.status() == 200)
                && sim.app_connected("voice-gateway")
        })
        .await;
        gw
    }

    /// A value from `/metrics` (0 when absent).
    pub(crate) async fn metric(&self, name: &str) -> f64 {
        crate::metrics::metric(&self.base, name).await
    }

    /// SIGKILL: no shutdown runs.
    pub(crate) fn kill(&mut self) {
        let mut child = self.child.take().expect("running");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// SIGTERM, then waits for a clean exit.
    pub(crate) async fn stop(mut self) {
        let mut child = self.child.take().expect("running");
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
            .await
            .unwrap();
        assert_eq!(status.code(), Some(0), "clean exit");
    }
}

impl Drop for Gw {
    fn drop(&mut self) {
        if let Some(c) = &mut self.child {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Polls `cond` until it holds; fails naming `what` after `secs` seconds.
pub(crate) async fn until(what: &str, secs: u64, mut cond: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !cond().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls a condition on the simulator (the scripted calls run on many
/// tasks) until it holds; fails naming `what` after two minutes.
async fn hold(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A loud 1.2 s tone: the fake STT hears it as one utterance.
fn speech() -> Vec<i16> {
    (0..9600)
        .map(|i| (9000.0 * (2.0 * std::f64::consts::PI * 300.0 * i as f64 / 8000.0).sin()) as i16)
        .collect()
}

fn loud(pcm: &[i16]) -> bool {
    let n = pcm.len().max(1) as f64;
    (pcm.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / n).sqrt() > 500.0
}

/// The scripted part of a call before its end: the greeting is heard, then
/// `turns` times the caller speaks and hears the whole reply (so nothing
/// barges in and each call publishes the same events).
pub(crate) async fn talk(sim: &SimHandle, turns: usize) -> SimCallId {
    let call = sim.place_inbound_call(DID, CALLER);
    // A call the gateway ends first (on a starved machine a setup step may
    // time out: `call.ended` with reason `error`) is over, not lost: its
    // events count like any other's, and it has no greeting to wait for.
    hold("the greeting", || {
        sim.call_ended(call) || loud(&sim.heard_pcm_since(call, 0))
    })
    .await;
    more(sim, call, turns).await;
    call
}

/// `turns` more turns of `call`, each reply heard to its end.
pub(crate) async fn more(sim: &SimHandle, call: SimCallId, turns: usize) {
    for _ in 0..turns {
        heard_all(sim, call).await;
        let before = sim.heard_len(call);
        if !sim.caller_say(call, &speech()) {
            return; // ended by the gateway (see `talk`)
        }
        hold("the reply", || {
            sim.call_ended(call) || loud(&sim.heard_pcm_since(call, before))
        })
        .await;
    }
    heard_all(sim, call).await;
}

/// Waits until what the caller hears has stopped growing for 600 ms (the
/// reply is over: the gateway sends nothing while it listens).
async fn heard_all(sim: &SimHandle, call: SimCallId) {
    let mut last = (sim.received_count(call), Instant::now());
    hold("the reply to end", || {
        let n = sim.received_count(call);
        if n != last.0 {
            last = (n, Instant::now());
        }
        last.1.elapsed() > Duration::from_millis(600)
    })
    .await;
}

/// `n` calls at once, each through `talk(turns)`, left up.
pub(crate) async fn calls(sim: &Arc<SimHandle>, n: usize, turns: usize) -> Vec<SimCallId> {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let sim = sim.clone();
            tokio::spawn(async move { talk(&sim, turns).await })
        })
        .collect();
    join(tasks).await
}

/// `turns` more turns of each of `calls`, all at once.
pub(crate) async fn more_turns(sim: &Arc<SimHandle>, calls: &[SimCallId], turns: usize) {
    let tasks: Vec<_> = calls
        .iter()
        .map(|&c| {
            let sim = sim.clone();
            tokio::spawn(async move { more(&sim, c, turns).await })
        })
        .collect();
    join(tasks).await;
}

/// Each of `calls` keys `digits` (every key a turn of its own: `call.dtmf`,
/// then the agent's answer, cut by the next key), all at once; waits until
/// each has heard its last answer out.
pub(crate) async fn keys(sim: &Arc<SimHandle>, calls: &[SimCallId], digits: &'static str) {
    let tasks: Vec<_> = calls
        .iter()
        .map(|&c| {
            let sim = sim.clone();
            tokio::spawn(async move {
                let before = sim.heard_len(c);
                if !sim.caller_dtmf(c, digits) {
                    return; // ended by the gateway (see `talk`)
                }
                hold("an answer to the keys", || {
                    sim.call_ended(c) || loud(&sim.heard_pcm_since(c, before))
                })
                .await;
                heard_all(&sim, c).await;
            })
        })
        .collect();
    join(tasks).await;
}

async fn join<T>(tasks: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::with_capacity(tasks.len());
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}
