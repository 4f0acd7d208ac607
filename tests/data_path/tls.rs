//! The gateway on its three engines over TLS only, a real call through the
//! simulator: Redis with a TLS port and no clear-text one (`rediss://`,
//! `redis.ca_file`), PostgreSQL refusing clear text (`sslmode =
//! "verify-full"`, `postgres.ca_file`), and a Kafka-protocol broker reached
//! only through a TLS-terminating proxy it advertises (`security.protocol =
//! "SSL"`, `ssl.ca.location`), or the same with SASL (`"SASL_SSL"`,
//! SCRAM-SHA-512) to a broker that requires authentication. The call's
//! state, events and record are read back over TLS too.
//!
//! tansu 0.6.0 has no TLS listener (its `--cert` and `--key` cannot be given
//! together), so TLS ends at the test's proxy; SASL is tansu's own
//! (`--authentication`, SCRAM verified against the user in its storage).

use crate::support::{assert_started_to_ended, readyz, speech, until};
use crate::tls_kit::{TestCa, TlsProxy, kafka_consumer_with, localhost};
use rdkafka::{Message, consumer::BaseConsumer};
use redis::AsyncCommands;
use serde_json::Value;
use std::{collections::HashSet, path::Path, time::Duration};
use vg_asterisk_sim::{SimConfig, Simulator};
use vg_testkit::{KafkaBroker, PostgresServer, RedisServer};
use voice_gateway::{adapter::config::load_from_str, server::Gateway};

const DID: &str = "+15551230000";
const CALLER: &str = "+15557650000";

/// An admin connection over TLS, checked against `ca`.
async fn pg(url: &str, ca: &Path) -> tokio_postgres::Client {
    let tls = voice_gateway::adapter::tls::verifying_client(Some(ca)).unwrap();
    let (client, conn) = tokio_postgres::connect(
        &format!("{url}?sslmode=require"),
        tokio_postgres_rustls::MakeRustlsConnect::new(tls),
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    client
}

fn rms(pcm: &[i16]) -> f64 {
    (pcm.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / pcm.len().max(1) as f64).sqrt()
}

/// A Kafka-protocol broker reached through the TLS proxy only, with the
/// librdkafka settings (TLS, SASL) the gateway and the test's reader use.
struct Kafka {
    bootstrap: String,
    topic: String,
    properties: Vec<(&'static str, String)>,
    _broker: KafkaBroker,
    _proxy: TlsProxy,
}

/// tansu without authentication behind the proxy: `security.protocol = "SSL"`.
async fn kafka_ssl(ca: &TestCa) -> Kafka {
    let (listener, proxy_addr) = TlsProxy::bind().await;
    let broker = KafkaBroker::start_advertising(&localhost(proxy_addr)).unwrap();
    let topic = format!("calls-{}", uuid::Uuid::new_v4().simple());
    broker.create_topic(&topic, 1).unwrap();
    let upstream = format!("127.0.0.1:{}", broker.port()).parse().unwrap();
    let proxy = TlsProxy::start(listener, ca, upstream);
    Kafka {
        bootstrap: localhost(proxy.addr()),
        topic,
        properties: vec![
            ("security.protocol", "SSL".into()),
            ("ssl.ca.location", ca.ca().display().to_string()),
        ],
        _proxy: proxy,
        _broker: broker,
    }
}

/// tansu requiring SASL behind the proxy: `security.protocol = "SASL_SSL"`,
/// SCRAM-SHA-512 as the user the broker knows.
async fn kafka_sasl_ssl(ca: &TestCa) -> Kafka {
    let (listener, proxy_addr) = TlsProxy::bind().await;
    let topic = format!("calls-{}", uuid::Uuid::new_v4().simple());
    let password = uuid::Uuid::new_v4().simple().to_string();
    let broker =
        KafkaBroker::start_sasl(&localhost(proxy_addr), "gateway", &password, &[&topic]).unwrap();
    let upstream = format!("127.0.0.1:{}", broker.port()).parse().unwrap();
    Kafka {
        bootstrap: localhost(proxy_addr),
        topic,
        properties: vec![
            ("security.protocol", "SASL_SSL".into()),
            ("sasl.mechanisms", "SCRAM-SHA-512".into()),
            ("sasl.username", "gateway".into()),
            ("sasl.password", password),
            ("ssl.ca.location", ca.ca().display().to_string()),
        ],
        _proxy: TlsProxy::start(listener, ca, upstream),
        _broker: broker,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_over_tls_to_redis_kafka_and_postgres() {
    let ca = TestCa::new();
    let kafka = kafka_ssl(&ca).await;
    call_over_tls(&ca, kafka).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_over_sasl_ssl_to_kafka_and_tls_to_redis_and_postgres() {
    let ca = TestCa::new();
    let kafka = kafka_sasl_ssl(&ca).await;
    call_over_tls(&ca, kafka).await;
}

/// A real call through the gateway with Redis and PostgreSQL over TLS and
/// `kafka`; its state, record and events read back over TLS.
async fn call_over_tls(ca: &TestCa, kafka: Kafka) {
    let redis = RedisServer::start_tls(&ca.cert(), &ca.key(), &ca.ca()).unwrap();
    let postgres = PostgresServer::start_tls(&ca.cert(), &ca.key()).unwrap();
    let topic = kafka.topic.clone();
    pg(&postgres.url("postgres"), &ca.ca())
        .await
        .batch_execute("CREATE DATABASE gw")
        .await
        .unwrap();

    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let (user, pass) = sim.credentials();
    let spool = tempfile::tempdir().unwrap();
    let ca_file = ca.ca().display().to_string();
    let text = format!(
        "[http]\nlisten = \"127.0.0.1:0\"\n[ari]\nurl = \"{}\"\nusername = \"{user}\"\npassword = \"{pass}\"\n\
         [lifecycle]\ndrain_deadline = \"2s\"\n[speech]\nstt = \"fake\"\ntts = \"fake\"\n\
         [media]\nrtp_port_range = \"31400-31449\"\n\
         [redis]\nurl = \"{}\"\nca_file = \"{ca_file}\"\ngateway_instance = \"gw-tls\"\n\
         [kafka]\nbrokers = \"{}\"\ntopic = \"{topic}\"\nspool_dir = \"{}\"\nmessage_timeout = \"5s\"\n\
         [kafka.properties]\n{}\
         [postgres]\nurl = \"{}\"\nsslmode = \"verify-full\"\nca_file = \"{ca_file}\"\nconnect_timeout = \"5s\"\n",
        sim.base_url(),
        redis.tls_url(),
        kafka.bootstrap,
        spool.path().display(),
        kafka
            .properties
            .iter()
            .map(|(k, v)| format!("{k:?} = {v:?}\n"))
            .collect::<String>(),
        postgres.url("gw"),
    );
    let gw = Gateway::bind(load_from_str(&text, Vec::new()).unwrap())
        .await
        .unwrap();
    let base = format!("http://{}", gw.local_addr());
    let admission = gw.state().admission.clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(gw.run(async {
        let _ = stopped.await;
    }));
    until(
        "ready with redis and postgres up over TLS",
        30,
        async || {
            let r = readyz(&base).await;
            r["status"] == "ready"
                && r["dependencies"]["redis"]["state"] == "up"
                && r["dependencies"]["postgres"]["state"] == "up"
        },
    )
    .await;
    // The gateway migrated the database over TLS; now a route for the DID.
    let sql = pg(&postgres.url("gw"), &ca.ca()).await;
    sql.batch_execute(&format!(
        "INSERT INTO tenants (id) VALUES ('acme');
         INSERT INTO dids (did_pattern, tenant_id, agent_id) VALUES ('{DID}', 'acme', 'builtin')"
    ))
    .await
    .unwrap();
    let call = loop {
        let call = sim.place_inbound_call(DID, CALLER);
        until("the call to be routed or refused", 20, async || {
            sim.call_ended(call) || rms(&sim.heard_pcm(call)) > 500.0
        })
        .await;
        if !sim.call_ended(call) {
            break call;
        }
    };

    // Redis, over TLS: the live record.
    let pem = std::fs::read(ca.ca()).unwrap();
    let mut r = redis::Client::build_with_tls(
        redis.tls_url(),
        redis::TlsCertificates {
            client_tls: None,
            root_cert: Some(pem),
        },
    )
    .unwrap()
    .get_multiplexed_async_connection()
    .await
    .unwrap();
    let live: Vec<String> = r.zrange("vg:acme:live", 0, -1).await.unwrap();
    assert_eq!(live.len(), 1, "{live:?}");
    let call_id = live[0].clone();

    let heard = sim.heard_pcm(call).len();
    assert!(sim.caller_say(call, &speech()));
    until("the reply to be heard", 30, async || {
        sim.heard_pcm(call).len() > heard + 8000
    })
    .await;
    sim.caller_hangup(call);
    until("the call to end", 20, async || admission.live_calls() == 0).await;
    let state: String = r
        .hget(format!("vg:acme:call:{call_id}"), "state")
        .await
        .unwrap();
    assert_eq!(state, "ended");

    // PostgreSQL, over TLS: the call record with its turn.
    until("the call record", 20, async || {
        sql.query_opt(
            "SELECT 1 FROM call_records WHERE call_id = $1 AND outcome = 'caller_hangup'",
            &[&call_id],
        )
        .await
        .unwrap()
        .is_some()
    })
    .await;

    // Kafka, over TLS: every event of the call, started to ended.
    let (bootstrap, t, props, id) = (
        kafka.bootstrap.clone(),
        topic.clone(),
        kafka.properties.clone(),
        call_id.clone(),
    );
    let types = tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = kafka_consumer_with(&bootstrap, &t, &props);
        let (mut types, mut seen) = (Vec::new(), HashSet::new());
        let end = std::time::Instant::now() + Duration::from_secs(60);
        while types.last().is_none_or(|t| t != "call.ended") && std::time::Instant::now() < end {
            let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) else {
                continue;
            };
            let v: Value = serde_json::from_slice(m.payload().unwrap_or_default()).unwrap();
            if v["subject"] == id.as_str() && seen.insert(v["id"].as_str().unwrap().to_owned()) {
                types.push(v["type"].as_str().unwrap().to_owned());
            }
        }
        types
    })
    .await
    .unwrap();
    assert_started_to_ended(&types);
    assert!(types.iter().any(|t| t == "stt.transcribed"), "{types:?}");
    assert_eq!(readyz(&base).await["dependencies"]["kafka"]["state"], "up");

    stop.send(()).unwrap();
    running.await.unwrap().unwrap();
}

/// The gateway set for `SASL_SSL` but pointed at a broker that speaks clear
/// text only: a call goes on (its events wait in the spool), and `/readyz`
/// shows `kafka` down with the failed TLS handshake as the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sasl_ssl_to_a_clear_text_only_broker_is_refused_with_a_clear_error() {
    let ca = TestCa::new();
    let broker = KafkaBroker::start().unwrap();
    let topic = format!("calls-{}", uuid::Uuid::new_v4().simple());
    broker.create_topic(&topic, 1).unwrap();
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let (user, pass) = sim.credentials();
    let spool = tempfile::tempdir().unwrap();
    let text = format!(
        "[http]\nlisten = \"127.0.0.1:0\"\n[ari]\nurl = \"{}\"\nusername = \"{user}\"\npassword = \"{pass}\"\n\
         [lifecycle]\ndrain_deadline = \"2s\"\n[speech]\nstt = \"fake\"\ntts = \"fake\"\n\
         [media]\nrtp_port_range = \"31450-31499\"\n\
         [kafka]\nbrokers = \"{}\"\ntopic = \"{topic}\"\nspool_dir = \"{}\"\nmessage_timeout = \"3s\"\n\
         [kafka.properties]\n\"security.protocol\" = \"SASL_SSL\"\n\"sasl.mechanisms\" = \"SCRAM-SHA-512\"\n\
         \"sasl.username\" = \"gateway\"\n\"sasl.password\" = \"pw\"\n\"ssl.ca.location\" = \"{}\"\n\
         \"socket.connection.setup.timeout.ms\" = \"2000\"\n\
         [[routes]]\ndid = \"*\"\ntenant = \"acme\"\nagent = \"builtin\"\n",
        sim.base_url(),
        broker.bootstrap(),
        spool.path().display(),
        ca.ca().display(),
    );
    let gw = Gateway::bind(load_from_str(&text, Vec::new()).unwrap())
        .await
        .unwrap();
    let base = format!("http://{}", gw.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(gw.run(async {
        let _ = stopped.await;
    }));
    until("ready", 30, async || {
        readyz(&base).await["status"] == "ready"
    })
    .await;
    let call = sim.place_inbound_call(DID, CALLER);
    until("the greeting", 20, async || {
        rms(&sim.heard_pcm(call)) > 500.0
    })
    .await;
    sim.caller_hangup(call);
    let mut detail = String::new();
    until("kafka down with the TLS reason", 30, async || {
        let r = readyz(&base).await;
        let kafka = &r["dependencies"]["kafka"];
        detail = kafka["detail"].as_str().unwrap_or_default().to_owned();
        kafka["state"] == "down" && detail.contains("SSL_HANDSHAKE")
    })
    .await;
    eprintln!("kafka: {detail}");
    assert!(detail.contains("events spooled on disk"), "{detail}");
    stop.send(()).unwrap();
    running.await.unwrap().unwrap();
}
