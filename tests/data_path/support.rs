//! The engines (real redis-server, tansu, PostgreSQL), reading the whole topic
//! (consumer from `tests/common/kafka.rs`), and small waits on conditions.

use rdkafka::Message;
use serde_json::Value;
use std::{
    collections::HashSet,
    time::{Duration, Instant},
};
use tokio_postgres::{Client, NoTls};
use vg_testkit::{KafkaBroker, PostgresServer, RedisServer};

/// One topic partition: the per-call order is then the topic's order.
pub(crate) const PARTITIONS: u32 = 1;

/// Redis, a Kafka broker with a fresh topic, PostgreSQL with an empty database.
pub(crate) struct Engines {
    pub(crate) redis: RedisServer,
    pub(crate) broker: KafkaBroker,
    pub(crate) topic: String,
    pub(crate) pg: PostgresServer,
}

impl Engines {
    pub(crate) async fn start() -> Self {
        let redis = RedisServer::start().expect("redis-server starts");
        let broker = KafkaBroker::start().expect("tansu starts");
        let topic = format!("calls-{}", uuid::Uuid::new_v4().simple());
        broker.create_topic(&topic, PARTITIONS).unwrap();
        let pg = PostgresServer::start().expect("postgres starts");
        connect(&pg.url("postgres"))
            .await
            .batch_execute("CREATE DATABASE gw")
            .await
            .unwrap();
        Self {
            redis,
            broker,
            topic,
            pg,
        }
    }

    /// The `[redis]`, `[kafka]` and `[postgres]` sections for these engines.
    /// Routes reload every 10 minutes: within a test only a notification
    /// can bring a new DID.
    pub(crate) fn toml(&self, spool: &std::path::Path) -> String {
        format!(
            "[redis]\nurl = \"{}\"\nended_ttl = \"10m\"\ngateway_instance = \"gw-test\"\n\
             [kafka]\nbrokers = \"{}\"\ntopic = \"{}\"\nspool_dir = \"{}\"\nmessage_timeout = \"3s\"\n\
             [postgres]\nurl = \"{}\"\nrefresh_interval = \"10m\"\nmax_backoff = \"500ms\"\nconnect_timeout = \"2s\"\n",
            self.redis.url(),
            self.broker.bootstrap(),
            self.topic,
            spool.display(),
            self.pg.url("gw"),
        )
    }
}

/// An admin connection (its driver runs on its own task).
pub(crate) async fn connect(url: &str) -> Client {
    let (client, conn) = tokio_postgres::connect(url, NoTls).await.unwrap();
    tokio::spawn(conn);
    client
}

/// One record read back from the topic.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    pub(crate) key: String,
    pub(crate) value: Value,
}

/// Reads the topic from the beginning with rdkafka until `done` holds for the
/// records read so far (de-duplicated by event id) or `timeout` passes.
/// Partitions are assigned directly: no group to join, no session to wait out.
pub(crate) fn consume(
    bootstrap: &str,
    topic: &str,
    timeout: Duration,
    done: impl Fn(&[Record]) -> bool,
) -> Vec<Record> {
    let consumer = crate::kafka::consumer_from_start(bootstrap, topic, PARTITIONS as i32);
    let (mut out, mut ids) = (Vec::new(), HashSet::new());
    let end = Instant::now() + timeout;
    while !done(&out) && Instant::now() < end {
        let Some(Ok(msg)) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        let value: Value = serde_json::from_slice(msg.payload().unwrap_or_default()).unwrap();
        if ids.insert(value["id"].as_str().unwrap().to_owned()) {
            out.push(Record {
                key: String::from_utf8_lossy(msg.key().unwrap_or_default()).into_owned(),
                value,
            });
        }
    }
    out
}

/// A call's events open with `call.started` and close with `call.ended`.
pub(crate) fn assert_started_to_ended(types: &[String]) {
    assert_eq!(
        types.first().map(String::as_str),
        Some("call.started"),
        "{types:?}"
    );
    assert_eq!(
        types.last().map(String::as_str),
        Some("call.ended"),
        "{types:?}"
    );
}

/// The event types of one call, in topic order.
pub(crate) fn types_of(records: &[Record], call: &str) -> Vec<String> {
    records
        .iter()
        .filter(|r| r.key == call)
        .map(|r| r.value["type"].as_str().unwrap().to_owned())
        .collect()
}

/// `/readyz` as JSON.
pub(crate) async fn readyz(base: &str) -> Value {
    reqwest::get(format!("{base}/readyz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Polls `cond` until it holds; fails naming `what` after `secs` seconds.
pub(crate) async fn until(what: &str, secs: u64, mut cond: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !cond().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A loud 1.2 s tone: the fake STT hears it as one utterance.
pub(crate) fn speech() -> Vec<i16> {
    (0..9600)
        .map(|i| (9000.0 * (2.0 * std::f64::consts::PI * 300.0 * i as f64 / 8000.0).sin()) as i16)
        .collect()
}
