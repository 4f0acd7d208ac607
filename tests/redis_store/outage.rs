//! Redis lost mid-call: calls go on from memory, readiness says degraded,
//! and the records reach the new Redis once it answers.

use crate::common::{call, eventually, raw, rec, store_on, tenant};
use redis::AsyncCommands;
use std::time::{Duration, Instant};
use vg_testkit::RedisServer;
use voice_gateway::application::{
    health::{DependencyState, ReadyStatus},
    ports::{calls::ListFilter, store::CallStore},
};

#[tokio::test]
async fn calls_go_on_while_redis_is_away_and_are_written_back() {
    let mut redis = RedisServer::start().unwrap();
    let port = redis.port();
    let f = store_on(&redis, "gw-a").await;
    let t = tenant("acme");
    f.store.put(rec("acme", "c1", 0, "active")).await.unwrap();
    f.store.put(rec("acme", "c2", 1, "active")).await.unwrap();

    redis.kill().unwrap();
    // Mid-call writes: none fails, none waits much longer than one op timeout.
    let started = Instant::now();
    f.store.put(rec("acme", "c1", 0, "ended")).await.unwrap();
    f.store.put(rec("acme", "c3", 2, "active")).await.unwrap();
    f.store.put(rec("acme", "c3", 2, "ended")).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let report = f.readiness.report();
    let DependencyState::Degraded { detail } = &report.dependencies["redis"].state else {
        panic!("redis should be degraded: {report:?}");
    };
    assert!(detail.contains("kept in memory"), "{detail}");
    assert_eq!(
        report.status,
        ReadyStatus::Ready,
        "degraded still takes calls"
    );
    assert!(f.metrics.pending_writebacks() >= 2);
    assert!(f.metrics.errors("put") >= 1);

    // Reads come from memory meanwhile.
    let c1 = f.store.get(&t, &call("c1")).await.unwrap().unwrap();
    assert_eq!(c1.state, "ended");
    let filter = ListFilter {
        limit: 10,
        ..Default::default()
    };
    let all = f.store.list(&t, &filter).await.unwrap();
    assert_eq!(all.calls.len(), 3);

    // Redis returns, empty (no persistence): everything the store knows of
    // calls written during the outage goes back.
    let redis = RedisServer::start_on(port).unwrap();
    eventually(Duration::from_secs(15), "readiness up", || async {
        f.readiness.report().dependencies["redis"].state == DependencyState::Up
    })
    .await;
    assert_eq!(f.metrics.pending_writebacks(), 0);
    let mut c = raw(&redis).await;
    let json: String = c.hget("vg:acme:call:c3", "record").await.unwrap();
    assert!(json.contains("\"ended\""), "{json}");
    let json: String = c.hget("vg:acme:call:c1", "record").await.unwrap();
    assert!(
        json.contains("\"ended\""),
        "latest version written back: {json}"
    );
    let ttl: i64 = c.ttl("vg:acme:call:c1").await.unwrap();
    assert!(ttl > 0, "ended calls written back expire too");
    // The new Redis came up empty: the live call untouched during the outage is back too.
    let live: Vec<String> = c.zrange("vg:acme:live", 0, -1).await.unwrap();
    assert_eq!(live, ["c2"]);
    // And reads are served by Redis again.
    let c3 = f.store.get(&t, &call("c3")).await.unwrap().unwrap();
    assert_eq!(c3.state, "ended");
}

#[tokio::test]
async fn a_store_started_without_redis_is_degraded_then_catches_up() {
    let redis = RedisServer::start().unwrap();
    let port = redis.port();
    drop(redis);
    let f = store_on_port(port).await;
    assert!(matches!(
        f.readiness.report().dependencies["redis"].state,
        DependencyState::Degraded { .. }
    ));
    f.store.put(rec("acme", "c1", 0, "active")).await.unwrap();
    let redis = RedisServer::start_on(port).unwrap();
    eventually(Duration::from_secs(15), "written back", || async {
        let mut c = raw(&redis).await;
        c.exists::<_, bool>("vg:acme:call:c1").await.unwrap()
    })
    .await;
    let live: Vec<String> = raw(&redis)
        .await
        .zrange("vg:acme:live", 0, -1)
        .await
        .unwrap();
    assert_eq!(live, ["c1"]);
}

async fn store_on_port(port: u16) -> crate::common::Fixture {
    use std::sync::Arc;
    use voice_gateway::adapter::store::{RedisCallStore, RedisStoreConfig, StoreMetrics};
    let readiness = Arc::new(voice_gateway::application::health::Readiness::default());
    let metrics = StoreMetrics::default();
    let config = RedisStoreConfig {
        url: format!("redis://127.0.0.1:{port}/"),
        gateway_instance: "gw-a".into(),
        op_timeout: Duration::from_millis(500),
        retry_max: Duration::from_millis(200),
        ..Default::default()
    };
    let store = RedisCallStore::connect(&config, readiness.clone(), metrics.clone())
        .await
        .unwrap();
    crate::common::Fixture {
        store,
        readiness,
        metrics,
    }
}

/// A Redis that takes connections but never answers (here: stopped) costs a
/// call one op timeout, not a hang.
#[tokio::test]
async fn a_frozen_redis_costs_one_timeout_then_memory() {
    let redis = RedisServer::start().unwrap();
    let f = store_on(&redis, "gw-a").await;
    f.store.put(rec("acme", "c1", 0, "active")).await.unwrap();
    let signal = |s: &str| {
        let pid = redis.pid().to_string();
        assert!(
            std::process::Command::new("kill")
                .args([s, &pid])
                .status()
                .unwrap()
                .success()
        );
    };
    signal("-STOP");
    let started = Instant::now();
    f.store.put(rec("acme", "c1", 0, "ended")).await.unwrap();
    let first = started.elapsed();
    f.store.put(rec("acme", "c2", 1, "active")).await.unwrap();
    assert!(first < Duration::from_millis(1500), "{first:?}");
    assert!(
        started.elapsed() - first < Duration::from_millis(100),
        "then memory at once"
    );
    assert!(matches!(
        f.readiness.report().dependencies["redis"].state,
        DependencyState::Degraded { .. }
    ));
    signal("-CONT");
    eventually(Duration::from_secs(15), "readiness up", || async {
        f.readiness.report().dependencies["redis"].state == DependencyState::Up
    })
    .await;
    let got = f
        .store
        .get(&tenant("acme"), &call("c1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.state, "ended");
}
