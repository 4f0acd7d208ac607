//! Clear text where TLS is required, and TLS to a server that cannot prove
//! who it is, against the real stores on loopback: redis-server with a TLS
//! port only, PostgreSQL with `ssl = on` and `hostnossl … reject`, and tansu
//! behind a TLS-terminating proxy (tansu itself has no TLS listener); and
//! SASL (`SASL_SSL`, SCRAM-SHA-512) with a wrong password, an unknown user,
//! toward a clear-text port and toward a broker without SASL.

use crate::tls_kit::{TestCa, TlsProxy, localhost};
use prometheus_client::registry::Registry;
use rdkafka::Message;
use std::{sync::Arc, time::Duration};
use vg_testkit::{KafkaBroker, PostgresServer, RedisServer};
use voice_gateway::{
    adapter::{
        events::{KafkaConfig, KafkaMetrics, KafkaPublisher},
        postgres::{DatabaseUrl, PostgresConfig, SslMode, run_migrations},
        store::{RedisCallStore, RedisStoreConfig, StoreMetrics},
    },
    application::{
        health::{DependencyState, Readiness},
        ports::events::{CallEvent, EventPublisher},
    },
    domain::{CallId, TenantId, events::EventType},
};

async fn redis_store(url: String, ca: Option<&TestCa>) -> (RedisCallStore, Arc<Readiness>) {
    let readiness = Arc::new(Readiness::default());
    let config = RedisStoreConfig {
        url,
        gateway_instance: "gw-tls".into(),
        op_timeout: Duration::from_secs(2),
        ca_file: ca.map(TestCa::ca),
        ..Default::default()
    };
    let store = RedisCallStore::connect(&config, readiness.clone(), StoreMetrics::default())
        .await
        .expect("a usable configuration");
    (store, readiness)
}

fn state(readiness: &Readiness, name: &str) -> DependencyState {
    readiness.report().dependencies[name].state.clone()
}

#[tokio::test]
async fn redis_over_tls_works_and_clear_text_or_a_foreign_ca_is_refused() {
    let ca = TestCa::new();
    let server = RedisServer::start_tls(&ca.cert(), &ca.key(), &ca.ca()).unwrap();

    // rediss:// with the test CA: the store is up and answers.
    let (store, readiness) = redis_store(server.tls_url(), Some(&ca)).await;
    assert_eq!(state(&readiness, "redis"), DependencyState::Up);
    let pong: String = redis::cmd("PING")
        .query_async(&mut store.connection())
        .await
        .unwrap();
    assert_eq!(pong, "PONG");

    // Clear text to the TLS port: no answer that counts as Redis.
    let (_, readiness) = redis_store(format!("redis://127.0.0.1:{}/", server.port()), None).await;
    assert!(
        matches!(state(&readiness, "redis"), DependencyState::Degraded { .. }),
        "clear text got through"
    );

    // A server whose certificate another CA issued (someone in between).
    let (_, readiness) = redis_store(server.tls_url(), Some(&TestCa::new())).await;
    let DependencyState::Degraded { detail } = state(&readiness, "redis") else {
        panic!("a certificate of an unknown issuer was accepted");
    };
    assert!(detail.contains("certificate"), "{detail}");
}

#[tokio::test]
async fn rediss_to_a_clear_text_only_server_is_refused() {
    let plain = RedisServer::start().unwrap();
    let (_, readiness) = redis_store(
        format!("rediss://127.0.0.1:{}/", plain.port()),
        Some(&TestCa::new()),
    )
    .await;
    let DependencyState::Degraded { detail } = state(&readiness, "redis") else {
        panic!("rediss:// talked to a clear-text server");
    };
    assert!(detail.contains("TLS"), "{detail}");
}

fn pg_config(url: &str, sslmode: SslMode, ca: Option<&TestCa>) -> PostgresConfig {
    PostgresConfig {
        url: Some(DatabaseUrl::new(url)),
        connect_timeout: Duration::from_secs(5),
        sslmode,
        ca_file: ca.map(TestCa::ca),
        ..PostgresConfig::default()
    }
}

#[tokio::test]
async fn postgres_in_clear_is_refused_where_tls_is_required() {
    let ca = TestCa::new();
    let server = PostgresServer::start_tls(&ca.cert(), &ca.key()).unwrap();
    let url = server.url("postgres");

    let e = run_migrations(&pg_config(&url, SslMode::Disable, None))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("no encryption"), "{e}");

    // verify-full against a CA that did not issue the server's certificate.
    let e = run_migrations(&pg_config(&url, SslMode::VerifyFull, Some(&TestCa::new())))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("certificate"), "{e}");

    // verify-full with the right CA: the migrations apply over TLS.
    let applied = run_migrations(&pg_config(&url, SslMode::VerifyFull, Some(&ca)))
        .await
        .unwrap();
    assert!(!applied.is_empty());
}

#[tokio::test]
async fn postgres_require_to_a_clear_text_only_server_is_refused() {
    let plain = PostgresServer::start().unwrap();
    for mode in [SslMode::Require, SslMode::VerifyFull] {
        let e = run_migrations(&pg_config(&plain.url("postgres"), mode, None))
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("TLS"), "{mode:?}: {e}");
    }
}

fn kafka_config(brokers: &str, topic: &str, spool: &std::path::Path, ca: &TestCa) -> KafkaConfig {
    KafkaConfig {
        brokers: brokers.into(),
        topic: topic.into(),
        spool_dir: spool.to_path_buf(),
        message_timeout_ms: 3_000,
        retry_backoff_ms: 200,
        properties: [
            ("security.protocol", "SSL"),
            ("ssl.ca.location", ca.ca().to_str().unwrap()),
            ("reconnect.backoff.max.ms", "500"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect(),
        ..KafkaConfig::default()
    }
}

fn event(call: &str) -> CallEvent {
    CallEvent::new(
        EventType::CallStarted,
        CallId::parse(call).unwrap(),
        TenantId::parse("acme").unwrap(),
        std::time::SystemTime::now(),
        serde_json::json!({
            "tenant_id": "acme", "direction": "inbound",
            "from": "+15557654321", "to": "+15551234567"
        }),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_over_tls_delivers_and_a_clear_text_only_broker_is_refused() {
    let ca = TestCa::new();
    let (listener, proxy_addr) = TlsProxy::bind().await;
    let broker = KafkaBroker::start_advertising(&localhost(proxy_addr)).unwrap();
    let proxy = TlsProxy::start(
        listener,
        &ca,
        format!("127.0.0.1:{}", broker.port()).parse().unwrap(),
    );
    let topic = format!("tls-{}", uuid::Uuid::new_v4().simple());
    broker.create_topic(&topic, 1).unwrap();
    let spool = tempfile::tempdir().unwrap();
    let readiness = Arc::new(Readiness::default());
    let publisher = KafkaPublisher::start(
        &kafka_config(&localhost(proxy.addr()), &topic, spool.path(), &ca),
        "gw-tls".into(),
        KafkaMetrics::register(&mut Registry::default()),
        Some(readiness.clone()),
    )
    .unwrap();
    let ev = event("tls-call");
    let id = ev.id.clone();
    publisher.publish(ev).await.unwrap();
    assert!(
        publisher.flush(Duration::from_secs(30)).await,
        "acknowledged over TLS: {:?}",
        state(&readiness, "kafka")
    );
    // Read back through the proxy too: the broker advertises only it.
    let (bootstrap, t, ca_file) = (localhost(proxy.addr()), topic.clone(), ca.ca());
    let got = tokio::task::spawn_blocking(move || {
        let c = crate::tls_kit::kafka_consumer(&bootstrap, &t, &ca_file);
        let end = std::time::Instant::now() + Duration::from_secs(90);
        while std::time::Instant::now() < end {
            if let Some(Ok(m)) =
                rdkafka::consumer::BaseConsumer::poll(&c, Duration::from_millis(200))
            {
                return Some(String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned());
            }
        }
        None
    })
    .await
    .unwrap()
    .expect("the event read back over TLS");
    assert!(got.contains(&id), "{got}");

    // The same settings toward the broker's own clear-text port. tansu takes
    // the TLS ClientHello for the start of a large request and waits for the
    // rest: the handshake ends at librdkafka's connection setup timeout.
    let spool = tempfile::tempdir().unwrap();
    let readiness = Arc::new(Readiness::default());
    let mut cfg = kafka_config(
        &format!("127.0.0.1:{}", broker.port()),
        &topic,
        spool.path(),
        &ca,
    );
    cfg.properties
        .insert("socket.connection.setup.timeout.ms".into(), "2000".into());
    let refused = KafkaPublisher::start(
        &cfg,
        "gw-tls".into(),
        KafkaMetrics::register(&mut Registry::default()),
        Some(readiness.clone()),
    )
    .unwrap();
    refused.publish(event("clear-call")).await.unwrap();
    assert!(
        !refused.flush(Duration::from_secs(8)).await,
        "delivered over clear text"
    );
    // The reason is named: the send timed out, and why.
    let end = std::time::Instant::now() + Duration::from_secs(30);
    let detail = loop {
        match state(&readiness, "kafka") {
            DependencyState::Down { detail }
                if detail.to_lowercase().contains("ssl handshake")
                    || detail.contains("SSL_HANDSHAKE") =>
            {
                break detail;
            }
            s if std::time::Instant::now() > end => panic!("no TLS reason given: {s:?}"),
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    };
    eprintln!("refused: {detail}");
}

/// A publisher with `kafka_config`'s TLS settings plus `extra` (SASL…).
fn publisher(
    brokers: &str,
    topic: &str,
    spool: &std::path::Path,
    ca: &TestCa,
    extra: &[(&str, &str)],
) -> (KafkaPublisher, Arc<Readiness>) {
    let mut cfg = kafka_config(brokers, topic, spool, ca);
    for (k, v) in extra {
        cfg.properties.insert((*k).into(), (*v).into());
    }
    let readiness = Arc::new(Readiness::default());
    let publisher = KafkaPublisher::start(
        &cfg,
        "gw-sasl".into(),
        KafkaMetrics::register(&mut Registry::default()),
        Some(readiness.clone()),
    )
    .unwrap();
    (publisher, readiness)
}

fn sasl<'a>(user: &'a str, password: &'a str) -> [(&'static str, &'a str); 4] {
    [
        ("security.protocol", "SASL_SSL"),
        ("sasl.mechanisms", "SCRAM-SHA-512"),
        ("sasl.username", user),
        ("sasl.password", password),
    ]
}

/// Publishes one event, which must not be acknowledged, and waits for the
/// `kafka` readiness detail to give a reason `why` accepts.
async fn refused(publisher: &KafkaPublisher, readiness: &Readiness, why: fn(&str) -> bool) {
    publisher.publish(event("refused-call")).await.unwrap();
    assert!(
        !publisher.flush(Duration::from_secs(8)).await,
        "delivered: {:?}",
        state(readiness, "kafka")
    );
    let end = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        match state(readiness, "kafka") {
            DependencyState::Down { detail } if why(&detail) => {
                eprintln!("refused: {detail}");
                return;
            }
            s if std::time::Instant::now() > end => panic!("no reason given: {s:?}"),
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// tansu requiring SCRAM-SHA-512 authentication (the user `gateway`) behind
/// the TLS proxy; `SASL_SSL` with the right password delivers, a wrong
/// password or an unknown user is refused as an authentication failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_sasl_with_a_wrong_password_is_refused() {
    let ca = TestCa::new();
    let (listener, proxy_addr) = TlsProxy::bind().await;
    let topic = format!("sasl-{}", uuid::Uuid::new_v4().simple());
    let broker =
        KafkaBroker::start_sasl(&localhost(proxy_addr), "gateway", "right-pw", &[&topic]).unwrap();
    let upstream = format!("127.0.0.1:{}", broker.port()).parse().unwrap();
    let proxy = TlsProxy::start(listener, &ca, upstream);
    let spool = tempfile::tempdir().unwrap();
    let (ok, readiness) = publisher(
        &localhost(proxy.addr()),
        &topic,
        spool.path(),
        &ca,
        &sasl("gateway", "right-pw"),
    );
    ok.publish(event("sasl-call")).await.unwrap();
    assert!(
        ok.flush(Duration::from_secs(30)).await,
        "acknowledged with the right password: {:?}\n{}",
        state(&readiness, "kafka"),
        broker.log_tail()
    );

    // librdkafka names the broker's SCRAM error: `invalid-proof`, `unknown-user`.
    let wrong_password: fn(&str) -> bool =
        |d| d.contains("SASL authentication error") && d.contains("invalid-proof");
    let unknown_user: fn(&str) -> bool =
        |d| d.contains("SASL authentication error") && d.contains("unknown-user");
    for (user, password, why) in [
        ("gateway", "wrong-pw", wrong_password),
        ("mallory", "right-pw", unknown_user),
    ] {
        let spool = tempfile::tempdir().unwrap();
        let (bad, readiness) = publisher(
            &localhost(proxy.addr()),
            &topic,
            spool.path(),
            &ca,
            &sasl(user, password),
        );
        refused(&bad, &readiness, why).await;
    }
}

/// `SASL_SSL` toward tansu's own clear-text port: the TLS handshake fails
/// and says so; toward a TLS port whose broker has no SASL: the broker
/// refuses the mechanism and that is the reason given.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_sasl_ssl_to_a_clear_text_or_sasl_less_broker_is_refused() {
    let ca = TestCa::new();
    let (listener, proxy_addr) = TlsProxy::bind().await;
    let broker = KafkaBroker::start_advertising(&localhost(proxy_addr)).unwrap();
    let upstream = format!("127.0.0.1:{}", broker.port()).parse().unwrap();
    let proxy = TlsProxy::start(listener, &ca, upstream);
    let topic = format!("sasl-{}", uuid::Uuid::new_v4().simple());
    broker.create_topic(&topic, 1).unwrap();

    let spool = tempfile::tempdir().unwrap();
    let mut settings = sasl("gateway", "pw").to_vec();
    settings.push(("socket.connection.setup.timeout.ms", "2000"));
    let (clear, readiness) = publisher(
        &format!("127.0.0.1:{}", broker.port()),
        &topic,
        spool.path(),
        &ca,
        &settings,
    );
    refused(&clear, &readiness, |d| {
        d.to_lowercase().contains("ssl handshake") || d.contains("SSL_HANDSHAKE")
    })
    .await;

    let spool = tempfile::tempdir().unwrap();
    let (no_sasl, readiness) = publisher(
        &localhost(proxy.addr()),
        &topic,
        spool.path(),
        &ca,
        &sasl("gateway", "pw"),
    );
    refused(&no_sasl, &readiness, |d| {
        d.contains("Unsupported SASL mechanism")
    })
    .await;
}
