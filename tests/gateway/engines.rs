//! Shared engines that cannot be reached at start: Redis and Kafka do not
//! stop the gateway (calls run from memory, events wait in the spool) and
//! say so in `/readyz`; PostgreSQL, whose migrations must apply, stops it
//! with the key named and the password masked; an unusable spool directory
//! stops it too.

use crate::support::{test_config, wait_for};
use voice_gateway::{
    adapter::config::SecretUrl,
    server::{Gateway, ServerError},
};

/// A closed port on loopback: connecting is refused at once.
fn closed_port() -> u16 {
    vg_testkit::free_port().unwrap()
}

#[tokio::test]
async fn unreachable_redis_and_kafka_leave_the_gateway_up_and_say_so() {
    let mut cfg = test_config("1s");
    cfg.redis.url = Some(SecretUrl::new(format!(
        "redis://:pw@127.0.0.1:{}/0",
        closed_port()
    )));
    cfg.kafka.brokers = Some(format!("127.0.0.1:{}", closed_port()));
    let spool = tempfile::tempdir().unwrap();
    cfg.kafka.spool_dir = spool.path().to_path_buf();
    let gw = Gateway::bind(cfg)
        .await
        .expect("starts without redis and kafka");
    let base = format!("http://{}", gw.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(gw.run(async {
        let _ = stopped.await;
    }));
    let body = wait_for(&base, "/readyz", |_, b| {
        b["dependencies"]["redis"]["state"] == "degraded"
    })
    .await;
    assert_eq!(body["dependencies"]["redis"]["required"], false, "{body}");
    assert_eq!(body["dependencies"]["kafka"]["required"], false, "{body}");
    assert!(!body.to_string().contains(":pw@"), "{body}");
    stop.send(()).unwrap();
    running.await.unwrap().unwrap();
}

#[tokio::test]
async fn postgres_whose_migrations_cannot_apply_stops_the_start() {
    let mut cfg = test_config("1s");
    cfg.postgres.url = Some(SecretUrl::new(format!(
        "postgres://vg:pg-pw@127.0.0.1:{}/vg",
        closed_port()
    )));
    let e = Gateway::bind(cfg).await.unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, ServerError::Setup(_)), "{msg}");
    assert!(
        msg.starts_with("postgres.url postgres://vg:********@127.0.0.1:"),
        "{msg}"
    );
    assert!(!msg.contains("pg-pw"), "{msg}");
}

#[tokio::test]
async fn an_unusable_spool_directory_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    let mut cfg = test_config("1s");
    cfg.kafka.brokers = Some("127.0.0.1:9092".into());
    cfg.kafka.spool_dir = file.join("spool");
    let msg = Gateway::bind(cfg).await.unwrap_err().to_string();
    assert!(msg.contains("kafka") && msg.contains("not-a-dir"), "{msg}");
}
