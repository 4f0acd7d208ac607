//! Events of several calls through a live broker.

use crate::{
    common::{self, consume, dedupe},
    schemas::{Schemas, sample_event},
};
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
async fn events_of_several_calls_arrive_in_per_call_order_as_valid_cloudevents() {
    let broker = vg_testkit::KafkaBroker::start().unwrap();
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

    // Five calls, their events interleaved as concurrent calls would be.
    let calls: Vec<String> = (0..5).map(|i| format!("call-{i}")).collect();
    let mut published = Vec::new();
    for t in EventType::ALL {
        for c in &calls {
            let ev = sample_event(t, c, "acme");
            published.push(ev.id.clone());
            publisher.publish(ev).await.unwrap();
        }
    }
    assert!(
        publisher.flush(Duration::from_secs(60)).await,
        "not acknowledged; broker log:\n{}",
        broker.log_tail()
    );
    assert_eq!(metrics.sent.get(), published.len() as u64);
    assert_eq!(metrics.spooled_events.get(), 0);
    assert_eq!(
        readiness.report().dependencies["kafka"].state,
        DependencyState::Up
    );

    let (bootstrap, t2, n) = (broker.bootstrap(), topic.clone(), published.len());
    let records = tokio::task::spawn_blocking(move || {
        consume(&bootstrap, &t2, 3, n, Duration::from_secs(30))
    })
    .await
    .unwrap();
    let records = dedupe(records);
    assert_eq!(records.len(), published.len(), "every event, once");

    let schemas = Schemas::load();
    for r in &records {
        schemas.check(&r.value).unwrap();
        assert_eq!(r.key, r.value["subject"], "key = call id");
        assert_eq!(r.headers["ce_id"], r.value["id"]);
        assert_eq!(r.headers["ce_type"], r.value["type"]);
        assert_eq!(r.value["source"], "gw-test");
    }
    for c in &calls {
        let of_call: Vec<&common::Record> = records.iter().filter(|r| &r.key == c).collect();
        let types: Vec<&str> = of_call
            .iter()
            .map(|r| r.value["type"].as_str().unwrap())
            .collect();
        let expected: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(types, expected, "{c}: in publish order");
        assert!(
            of_call.iter().all(|r| r.partition == of_call[0].partition),
            "{c}: one partition"
        );
    }
    publisher.close().await;
}
