//! Helpers: a publisher config for tests, a consumer that reads a whole topic.

use rdkafka::{Message, message::Headers};
use serde_json::Value;
use std::{
    collections::HashMap,
    path::Path,
    time::{Duration, Instant},
};
use voice_gateway::adapter::events::KafkaConfig;

/// A config with short timeouts so outages are noticed within a test's time.
pub(crate) fn config(brokers: &str, topic: &str, spool: &Path) -> KafkaConfig {
    KafkaConfig {
        brokers: brokers.into(),
        topic: topic.into(),
        client_id: "vg-test".into(),
        spool_dir: spool.to_path_buf(),
        message_timeout_ms: 3_000,
        retry_backoff_ms: 200,
        fsync_interval_ms: 20,
        properties: [
            ("reconnect.backoff.max.ms".to_owned(), "500".to_owned()),
            (
                "topic.metadata.refresh.interval.ms".to_owned(),
                "1000".to_owned(),
            ),
        ]
        .into(),
        ..KafkaConfig::default()
    }
}

/// A random topic name, so tests sharing a broker never read each other's events.
pub(crate) fn topic() -> String {
    format!("events-{}", uuid::Uuid::new_v4().simple())
}

/// One record read back.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    pub(crate) partition: i32,
    pub(crate) key: String,
    pub(crate) value: Value,
    pub(crate) headers: HashMap<String, String>,
}

/// Reads every partition of `topic` from the beginning until `unique` distinct
/// event ids have been seen or `timeout` passes. Assigns partitions directly:
/// no consumer group to join, so no session timeouts to wait out.
pub(crate) fn consume(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    unique: usize,
    timeout: Duration,
) -> Vec<Record> {
    let consumer = crate::kafka::consumer_from_start(bootstrap, topic, partitions);
    let (mut out, mut ids) = (Vec::new(), std::collections::HashSet::new());
    let end = Instant::now() + timeout;
    while ids.len() < unique && Instant::now() < end {
        let Some(msg) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        let Ok(msg) = msg else { continue };
        let value: Value = serde_json::from_slice(msg.payload().unwrap_or_default()).unwrap();
        let mut headers = HashMap::new();
        if let Some(h) = msg.headers() {
            for hd in h.iter() {
                let v = hd.value.map(|v| String::from_utf8_lossy(v).into_owned());
                headers.insert(hd.key.to_owned(), v.unwrap_or_default());
            }
        }
        ids.insert(value["id"].as_str().unwrap().to_owned());
        out.push(Record {
            partition: msg.partition(),
            key: String::from_utf8_lossy(msg.key().unwrap_or_default()).into_owned(),
            value,
            headers,
        });
    }
    out
}

/// Keeps the first record of each event id (what a de-duplicating consumer sees).
pub(crate) fn dedupe(records: Vec<Record>) -> Vec<Record> {
    let mut seen = std::collections::HashSet::new();
    records
        .into_iter()
        .filter(|r| seen.insert(r.value["id"].as_str().unwrap().to_owned()))
        .collect()
}

/// Polls `cond` until true or `timeout` passes.
pub(crate) async fn eventually(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = tokio::time::Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if tokio::time::Instant::now() >= end {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
