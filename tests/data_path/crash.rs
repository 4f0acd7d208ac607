//! The real binary killed with SIGKILL while a call's events wait in the spool
//! (the broker is down); started again on the same spool, then the broker
//! comes up: every event of the call arrives, in order, once.

use crate::support::{PARTITIONS, assert_started_to_ended, consume, readyz, types_of, until};
use crate::{metrics::metric, schemas::Schemas};
use std::{
    path::Path,
    process::{Child, Command, Stdio},
    time::Duration,
};
use vg_asterisk_sim::{SimConfig, SimHandle, Simulator};
use vg_testkit::KafkaBroker;

const BIN: &str = env!("CARGO_BIN_EXE_voice-gateway");

/// A gateway process, killed if the test fails before it is waited for.
struct Gw(Option<Child>);

impl Gw {
    fn signal(&self, sig: &str) {
        let pid = self.0.as_ref().expect("running").id().to_string();
        Command::new("kill").args([sig, &pid]).status().unwrap();
    }

    async fn wait(mut self) -> std::process::ExitStatus {
        let mut child = self.0.take().expect("running");
        tokio::task::spawn_blocking(move || child.wait().unwrap())
            .await
            .unwrap()
    }
}

impl Drop for Gw {
    fn drop(&mut self) {
        if let Some(c) = &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The gateway binary on the simulator and a broker at `port`, spooling to
/// `spool`. Returns the process and its HTTP base URL (from its start line).
fn spawn(sim: &SimHandle, port: u16, topic: &str, spool: &Path) -> (Gw, String) {
    let (user, pass) = sim.credentials();
    let mut child = Command::new(BIN)
        .env("VOICEGW__HTTP__LISTEN", "127.0.0.1:0")
        .env("VOICEGW__ARI__URL", sim.base_url())
        .env("VOICEGW__ARI__USERNAME", user)
        .env("VOICEGW__ARI__PASSWORD", pass)
        .env("VOICEGW__ARI__RECONNECT_MAX_DELAY", "100ms")
        .env("VOICEGW__SPEECH__STT", "fake")
        .env("VOICEGW__SPEECH__TTS", "fake")
        .env("VOICEGW__MEDIA__RTP_PORT_RANGE", "31300-31399")
        .env("VOICEGW__LOG__FORMAT", "json")
        .env("VOICEGW__KAFKA__BROKERS", format!("127.0.0.1:{port}"))
        .env("VOICEGW__KAFKA__TOPIC", topic)
        .env("VOICEGW__KAFKA__SPOOL_DIR", spool)
        .env("VOICEGW__KAFKA__MESSAGE_TIMEOUT", "2s")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (addr, lines) = crate::process::started_at(&mut child);
    // Keep reading so the child never blocks on a full pipe.
    std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
    (Gw(Some(child)), format!("http://{addr}"))
}

fn rms(pcm: &[i16]) -> f64 {
    (pcm.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / pcm.len().max(1) as f64).sqrt()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_spooled_before_a_sigkill_are_sent_after_the_restart() {
    let port = vg_testkit::free_port().unwrap();
    let topic = format!("calls-{}", uuid::Uuid::new_v4().simple());
    let spool = tempfile::tempdir().unwrap();
    let sim = Simulator::start(SimConfig::default()).await.unwrap();

    // No broker: the call's events can only go to the spool.
    let (first, base) = spawn(&sim, port, &topic, spool.path());
    until("ready", 20, async || {
        readyz(&base).await["status"] == "ready"
    })
    .await;
    let call = sim.place_inbound_call("+15551234567", "+15557654321");
    until("the greeting", 30, async || {
        rms(&sim.heard_pcm(call)) > 500.0
    })
    .await;
    sim.caller_hangup(call);
    // `call.ended` is spooled before the end is counted.
    until("the end to be counted", 20, async || {
        metric(&base, "voicegw_calls_ended_total{reason=\"caller_hangup\"}").await == 1.0
    })
    .await;
    let spooled = metric(&base, "voicegw_kafka_spooled_events").await as usize;
    // At least call.started, call.answered and call.ended.
    assert!(
        spooled >= 3,
        "the call's events wait in the spool: {spooled}"
    );
    assert_eq!(metric(&base, "voicegw_kafka_events_sent_total").await, 0.0);

    first.signal("-KILL");
    let status = first.wait().await;
    assert_eq!(status.code(), None, "killed by a signal, no shutdown ran");

    let (second, base) = spawn(&sim, port, &topic, spool.path());
    until("ready again", 20, async || {
        readyz(&base).await["status"] == "ready"
    })
    .await;
    let broker = KafkaBroker::start_on(port).unwrap();
    broker.create_topic(&topic, PARTITIONS).unwrap();
    until("the spool to drain", 90, async || {
        metric(&base, "voicegw_kafka_events_sent_total").await >= spooled as f64
            && metric(&base, "voicegw_kafka_spooled_events").await == 0.0
    })
    .await;

    let (bootstrap, t) = (broker.bootstrap(), topic.clone());
    let records = tokio::task::spawn_blocking(move || {
        consume(&bootstrap, &t, Duration::from_secs(60), |rs| {
            rs.len() >= spooled
        })
    })
    .await
    .unwrap();
    assert_eq!(
        records.len(),
        spooled,
        "each spooled event once after de-duplication"
    );
    let schemas = Schemas::load();
    for r in &records {
        schemas.check(&r.value).unwrap_or_else(|e| panic!("{e}"));
    }
    let call_id = records[0].key.clone();
    let types = types_of(&records, &call_id);
    assert_eq!(types.len(), spooled, "one call's events: {types:?}");
    assert_started_to_ended(&types);
    let times: Vec<&str> = records
        .iter()
        .map(|r| r.value["time"].as_str().unwrap())
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "in order: {times:?}"
    );

    second.signal("-TERM");
    let status = second.wait().await;
    assert_eq!(status.code(), Some(0));
}
