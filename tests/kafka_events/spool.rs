//! The spool under the publisher: crash recovery and the full-spool alert.

use crate::common::{self, consume, eventually};
use crate::schemas::sample_event;
use prometheus_client::{encoding::text::encode, registry::Registry};
use std::time::Duration;
use voice_gateway::{
    adapter::events::{KafkaConfig, KafkaMetrics, KafkaPublisher},
    application::ports::events::{EventPublisher, PublishError},
    domain::events::EventType,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_of_a_publisher_that_died_unflushed_are_sent_by_the_next_one() {
    // No broker yet: the first publisher only spools.
    let port = vg_testkit::free_port().unwrap();
    let topic = common::topic();
    let spool = tempfile::tempdir().unwrap();
    let config = common::config(&format!("127.0.0.1:{port}"), &topic, spool.path());
    let first =
        KafkaPublisher::start(&config, "gw-a".into(), KafkaMetrics::default(), None).unwrap();
    let mut ids = Vec::new();
    for i in 0..50 {
        let mut ev = sample_event(EventType::CallDtmf, "call-1", "acme");
        ev.data["n"] = serde_json::json!(i);
        ids.push(ev.id.clone());
        first.publish(ev).await.unwrap();
    }
    drop(first); // no flush, no close: as if the process had died

    let broker = vg_testkit::KafkaBroker::start_on(port).unwrap();
    broker.create_topic(&topic, 1).unwrap();
    let metrics = KafkaMetrics::default();
    let second = KafkaPublisher::start(&config, "gw-a".into(), metrics.clone(), None).unwrap();
    assert_eq!(metrics.spooled_events.get(), 50, "recovered from disk");
    assert!(
        second.flush(Duration::from_secs(60)).await,
        "{}",
        broker.log_tail()
    );
    let bootstrap = broker.bootstrap();
    let records = tokio::task::spawn_blocking(move || {
        consume(&bootstrap, &topic, 1, 50, Duration::from_secs(30))
    })
    .await
    .unwrap();
    let got: Vec<String> = common::dedupe(records)
        .iter()
        .map(|r| r.value["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(got, ids, "all of them, in order");
    second.close().await;
}

#[tokio::test]
async fn a_full_spool_refuses_events_and_raises_the_alert() {
    let spool = tempfile::tempdir().unwrap();
    let port = vg_testkit::free_port().unwrap(); // nothing listens: events stay spooled
    let config = KafkaConfig {
        spool_max_bytes: 4096,
        ..common::config(&format!("127.0.0.1:{port}"), "t", spool.path())
    };
    let mut registry = Registry::default();
    let metrics = KafkaMetrics::register(&mut registry);
    let publisher = KafkaPublisher::start(&config, "gw".into(), metrics.clone(), None).unwrap();
    let mut accepted = 0;
    let err = loop {
        match publisher
            .publish(sample_event(EventType::CallEnded, "c-1", "acme"))
            .await
        {
            Ok(()) => accepted += 1,
            Err(e) => break e,
        }
        assert!(accepted < 100, "a 4 KiB spool never filled");
    };
    assert!(matches!(err, PublishError::Full(_)), "{err}");
    assert!(accepted > 0);
    assert!(
        publisher
            .publish(sample_event(EventType::CallEnded, "c-1", "acme"))
            .await
            .is_err()
    );
    assert_eq!(metrics.spool_full.get(), 2);
    assert!(metrics.spooled_bytes.get() <= 4096);
    assert!(
        eventually(Duration::from_secs(1), || metrics.spooled_events.get()
            == accepted)
        .await
    );
    let mut text = String::new();
    encode(&mut text, &registry).unwrap();
    assert!(text.contains("kafka_spool_full_total 2"), "{text}");
    publisher.close().await;
}
