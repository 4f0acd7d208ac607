//! Records, a store on a fresh server, raw commands, and polling.

use redis::aio::MultiplexedConnection;
use std::{
    future::Future,
    sync::Arc,
    time::{Duration, Instant, SystemTime},
};
use vg_testkit::RedisServer;
use voice_gateway::{
    adapter::store::{RedisCallStore, RedisStoreConfig, StoreMetrics},
    application::{health::Readiness, ports::calls::CallSummary},
    domain::{CallId, TenantId, call::Direction},
};

pub(crate) fn tenant(s: &str) -> TenantId {
    TenantId::parse(s).unwrap()
}

pub(crate) fn call(s: &str) -> CallId {
    CallId::parse(s).unwrap()
}

/// A call of `t` created `secs` after a fixed instant; ended when `state` is `ended`.
pub(crate) fn rec(t: &str, id: &str, secs: u64, state: &str) -> CallSummary {
    let at = |s| SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + s);
    CallSummary {
        call_id: call(id),
        tenant_id: tenant(t),
        direction: Direction::Inbound,
        state: state.into(),
        from: Some("+33612345678".into()),
        to: Some("+33198765432".into()),
        agent_id: None,
        agent_version: None,
        created_at: at(secs) + Duration::from_nanos(123_456_789),
        answered_at: (state != "ringing").then(|| at(secs + 1)),
        ended_at: (state == "ended").then(|| at(secs + 60)),
        end_reason: (state == "ended").then(|| "caller_hangup".into()),
        metadata: [("trunk".to_owned(), "t1".to_owned())].into(),
        // Kept and read back like the rest (an outbound call's screening).
        answered_by: (state == "ended")
            .then_some(voice_gateway::domain::screening::AnsweredBy::Machine),
        resume: None,
    }
}

pub(crate) fn config(redis: &RedisServer, instance: &str) -> RedisStoreConfig {
    RedisStoreConfig {
        url: redis.url(),
        gateway_instance: instance.into(),
        // Generous for a loaded 2-core CI machine; still bounded.
        op_timeout: Duration::from_millis(500),
        retry_max: Duration::from_millis(200),
        ..Default::default()
    }
}

pub(crate) struct Fixture {
    pub(crate) store: RedisCallStore,
    pub(crate) readiness: Arc<Readiness>,
    pub(crate) metrics: StoreMetrics,
}

pub(crate) async fn store_on(redis: &RedisServer, instance: &str) -> Fixture {
    let readiness = Arc::new(Readiness::default());
    let metrics = StoreMetrics::default();
    let store =
        RedisCallStore::connect(&config(redis, instance), readiness.clone(), metrics.clone())
            .await
            .unwrap();
    Fixture {
        store,
        readiness,
        metrics,
    }
}

/// A plain connection for checking what Redis holds.
pub(crate) async fn raw(redis: &RedisServer) -> MultiplexedConnection {
    redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// Polls `check` until it holds or `within` has passed.
pub(crate) async fn eventually<F, Fut>(within: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    while !check().await {
        assert!(Instant::now() < deadline, "not within {within:?}: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
