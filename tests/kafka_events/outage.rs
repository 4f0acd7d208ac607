//! The broker stops for a minute while 10,000 events are published, then
//! comes back: every event arrives, once after de-duplication by id, in
//! per-call order. Prints the figures (run with `--nocapture`).

use crate::common::{self, consume, dedupe, eventually};
use crate::schemas::sample_event;
use prometheus_client::registry::Registry;
use std::{
    sync::Arc,
    time::{Duration, Instant},
};
use voice_gateway::{
    adapter::events::{KafkaMetrics, KafkaPublisher},
    application::{
        health::{DependencyState, Readiness},
        ports::events::EventPublisher,
    },
    domain::events::EventType,
};

/// How long the broker stays away (the acceptance figure).
const OUTAGE: Duration = Duration::from_secs(60);

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

    // With the broker up: the sustained rate from publish to acknowledgement.
    const N: usize = 10_000;
    let started = Instant::now();
    for i in 0..N {
        publisher.publish(event(i)).await.unwrap();
    }
    assert!(
        publisher.flush(Duration::from_secs(120)).await,
        "{}",
        broker.log_tail()
    );
    let sustained = N as f64 / started.elapsed().as_secs_f64();

    // The broker stops for a minute; N more events are published meanwhile,
    // in bursts spread over the outage, so some land while librdkafka is
    // still retrying and some after its sends have timed out.
    drop(broker);
    let stopped = Instant::now();
    const BURSTS: usize = 20;
    let mut writing = Duration::ZERO;
    for b in 0..BURSTS {
        tokio::time::sleep_until((stopped + OUTAGE * b as u32 / (BURSTS as u32 + 1)).into()).await;
        let burst = Instant::now();
        for i in N + b * N / BURSTS..N + (b + 1) * N / BURSTS {
            publisher
                .publish(event(i))
                .await
                .expect("accepted while the broker is down");
        }
        writing += burst.elapsed();
    }
    let spool_write = N as f64 / writing.as_secs_f64();
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
    // The outage itself lasts a minute (a duration to simulate, not a timing
    // assertion): long enough for every librdkafka timeout and retry to fire.
    tokio::time::sleep_until((stopped + OUTAGE).into()).await;

    // The memory engine lost the topic with the old process.
    let broker = vg_testkit::KafkaBroker::start_on(port).unwrap();
    broker.create_topic(&topic, 3).unwrap();
    let back = Instant::now();
    assert!(
        publisher.flush(Duration::from_secs(180)).await,
        "spool not drained; broker log:\n{}",
        broker.log_tail()
    );
    let replay = back.elapsed();
    assert_eq!(metrics.spooled_events.get(), 0);
    assert_eq!(
        readiness.report().dependencies["kafka"].state,
        DependencyState::Up
    );

    let bootstrap = broker.bootstrap();
    let records = tokio::task::spawn_blocking(move || {
        consume(&bootstrap, &topic, 3, N, Duration::from_secs(120))
    })
    .await
    .unwrap();
    let total = records.len();
    let records = dedupe(records);
    // The restarted broker (memory engine) holds only what was sent after
    // it came back: exactly the events of the outage.
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
        assert_eq!(ns.len(), N / calls.len(), "{c}");
        assert!(
            ns.iter().all(|n| (N as u64..2 * N as u64).contains(n)),
            "{c}"
        );
        assert!(
            ns.windows(2).all(|w| w[0] < w[1]),
            "{c} out of order: {ns:?}"
        );
    }
    eprintln!(
        "kafka figures: {sustained:.0} events/s sustained to the broker (publish to ack, {N} events); \
         spool write {spool_write:.0} events/s with the broker down; \
         {N} events replayed in {:.1} s after a {} s outage ({:.0} events/s, incl. reconnect); \
         {total} records read, {} duplicates",
        replay.as_secs_f64(),
        OUTAGE.as_secs(),
        N as f64 / replay.as_secs_f64(),
        total - N
    );
    publisher.close().await;
}
