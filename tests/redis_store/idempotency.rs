//! Idempotency keys over Redis: the first claim wins, replays return the
//! first call, keys expire and belong to one tenant.

use crate::common::{eventually, raw, store_on, tenant};
use redis::AsyncCommands;
use std::time::{Duration, SystemTime};
use vg_testkit::RedisServer;
use voice_gateway::adapter::{
    http::api::{
        dto::CallView,
        idempotency::{Begin, IdempotencyStore},
    },
    store::{RedisIdempotency, StoreMetrics},
};

fn view(id: &str) -> CallView {
    CallView {
        call_id: id.into(),
        tenant_id: "acme".into(),
        direction: "outbound".into(),
        state: "originating".into(),
        from: None,
        to: Some("+33612345678".into()),
        agent_id: Some("sales".into()),
        agent_version: None,
        created_at: "2027-01-15T08:00:00.000Z".into(),
        answered_at: None,
        ended_at: None,
        end_reason: None,
        metadata: Default::default(),
        answered_by: None,
    }
}

async fn keys(redis: &RedisServer) -> RedisIdempotency {
    let f = store_on(redis, "gw-a").await;
    RedisIdempotency::new(
        f.store.connection(),
        "vg",
        Duration::from_millis(500),
        StoreMetrics::default(),
    )
}

#[tokio::test]
async fn the_first_claim_wins_and_replays_its_call() {
    let redis = RedisServer::start().unwrap();
    let a = keys(&redis).await;
    // A second instance sharing the same Redis.
    let b = keys(&redis).await;
    let (t, now) = (tenant("acme"), SystemTime::now());
    let claims = futures_util::future::join_all(
        (0..10)
            .map(|i| if i % 2 == 0 { &a } else { &b })
            .map(|s| s.begin(&t, "k1", 7, now)),
    )
    .await;
    assert_eq!(
        claims.iter().filter(|c| **c == Begin::Fresh).count(),
        1,
        "{claims:?}"
    );
    assert!(
        claims
            .iter()
            .all(|c| matches!(c, Begin::Fresh | Begin::InProgress))
    );
    assert_eq!(b.begin(&t, "k1", 8, now).await, Begin::Mismatch);

    a.complete(&t, "k1", view("c1"), now).await;
    assert_eq!(
        b.begin(&t, "k1", 7, now).await,
        Begin::Replay(Box::new(view("c1")))
    );
    let ttl: i64 = raw(&redis).await.ttl("vg:acme:idem:k1").await.unwrap();
    assert!((86_390..=86_400).contains(&ttl), "kept a day: {ttl}");

    // Abandoned: a retry may dial.
    assert_eq!(a.begin(&t, "k2", 1, now).await, Begin::Fresh);
    a.abandon(&t, "k2").await;
    assert_eq!(b.begin(&t, "k2", 1, now).await, Begin::Fresh);
}

#[tokio::test]
async fn keys_belong_to_one_tenant() {
    let redis = RedisServer::start().unwrap();
    let s = keys(&redis).await;
    let now = SystemTime::now();
    assert_eq!(s.begin(&tenant("acme"), "k", 1, now).await, Begin::Fresh);
    assert_eq!(s.begin(&tenant("beta"), "k", 2, now).await, Begin::Fresh);
    s.complete(&tenant("acme"), "k", view("c1"), now).await;
    assert_eq!(
        s.begin(&tenant("beta"), "k", 2, now).await,
        Begin::InProgress
    );
}

#[tokio::test]
async fn claims_and_results_expire() {
    let redis = RedisServer::start().unwrap();
    let s = keys(&redis)
        .await
        .with_ttls(Duration::from_millis(300), Duration::from_millis(600));
    let (t, now) = (tenant("acme"), SystemTime::now());
    assert_eq!(s.begin(&t, "k", 1, now).await, Begin::Fresh);
    assert_eq!(s.begin(&t, "k", 1, now).await, Begin::InProgress);
    // A claim whose request died is taken over once it expires.
    eventually(
        Duration::from_secs(5),
        "in-flight claim expires",
        || async { s.begin(&t, "k", 1, now).await == Begin::Fresh },
    )
    .await;
    s.complete(&t, "k", view("c1"), now).await;
    assert!(matches!(s.begin(&t, "k", 1, now).await, Begin::Replay(_)));
    eventually(Duration::from_secs(5), "result expires", || async {
        !raw(&redis)
            .await
            .exists::<_, bool>("vg:acme:idem:k")
            .await
            .unwrap()
    })
    .await;
    assert_eq!(s.begin(&t, "k", 1, now).await, Begin::Fresh);
}
