//! The broker goes away while events are published, then comes back.

use crate::common::{self, consume, dedupe, eventually};
use crate::schemas::sample_event;
use prometheus_client::registry::Registry;
use std::{sync::Arc, time::Duration};
use voice_gateway::{
    adapter::events::{KafkaMetrics, KafkaPublisher},
    application::{
        health::{DependencyState, Readiness},
        ports::events::EventPublisher,
    },
    domain::events::EventType,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_outage_spools_events_and_replays_them_in_order_without_loss() {
    let broker = vg_testkit::KafkaBroker::start().unwrap();
    let port = broker.port();
    let topic = common::topic();
    broker.create_topic(&topic, 3).unwrap();
    let spool = tempfile::tempdir().unwrap();
    let readiness = Arc::new(Readiness::default());
    let metrics = KafkaMetrics::register(&mut Registry::default());
    let publisher = KafkaPublisher::start(
        &common::config(&broker.bootstrap(), &topic, spool.path()),
        "gw-test".into(),
        metrics.clone(),
        Some(readiness.clone()),
    )
    .unwrap();
    let calls: Vec<String> = (0..10).map(|i| format!("call-{i}")).collect();
    let event = |i: usize| {
        let mut ev = sample_event(EventType::SttTranscribed, &calls[i % calls.len()], "acme");
        ev.data["n"] = serde_json::json!(i);
        ev
    };
    publisher.publish(event(0)).await.unwrap();
    assert!(
        publisher.flush(Duration::from_secs(60)).await,
        "{}",
        broker.log_tail()
    );

    drop(broker);
    const N: usize = 2_000;
    for i in 1..=N {
        publisher
            .publish(event(i))
            .await
            .expect("accepted while the broker is down");
    }
    assert!(
        eventually(Duration::from_secs(30), || matches!(
            readiness.report().dependencies["kafka"].state,
            DependencyState::Down { .. }
        ))
        .await,
        "readiness shows Kafka down"
    );
    assert!(metrics.spooled_events.get() > 0, "events wait on disk");
    assert!(metrics.delivery_errors.get() > 0);

    // The memory engine lost the topic with the old process.
    let broker = vg_testkit::KafkaBroker::start_on(port).unwrap();
    broker.create_topic(&topic, 3).unwrap();
    assert!(
        publisher.flush(Duration::from_secs(120)).await,
        "spool not drained; broker log:\n{}",
        broker.log_tail()
    );
    assert_eq!(metrics.spooled_events.get(), 0);
    assert_eq!(
        readiness.report().dependencies["kafka"].state,
        DependencyState::Up
    );

    let bootstrap = broker.bootstrap();
    let records = tokio::task::spawn_blocking(move || {
        consume(&bootstrap, &topic, 3, N, Duration::from_secs(60))
    })
    .await
    .unwrap();
    let total = records.len();
    let records = dedupe(records);
    assert_eq!(
        records.len(),
        N,
        "every event of the outage, once after de-duplication ({total} read)"
    );
    for c in &calls {
        let ns: Vec<u64> = records
            .iter()
            .filter(|r| &r.key == c)
            .map(|r| r.value["data"]["n"].as_u64().unwrap())
            .collect();
        assert!(
            ns.windows(2).all(|w| w[0] < w[1]),
            "{c} out of order: {ns:?}"
        );
    }
    eprintln!(
        "outage: {N} events delivered after the broker returned ({total} records read, {} duplicates)",
        total - N
    );
    publisher.close().await;
}
