//! `Idempotency-Key`: replay within 24 h, mismatch, expiry, per tenant.

use super::*;

async fn create(app: &App, tenant: &str, key: &str, body: Value) -> Reply {
    // Valid for 3 days: these tests move the clock by a day.
    let t = token(json!({"tenant_id": tenant, "exp": T0 + 3 * 86_400}));
    app.req(
        Method::POST,
        "/v1/calls",
        Some(&t),
        Some(body),
        &[("idempotency-key", key)],
    )
    .await
}

#[tokio::test]
async fn same_key_and_body_replays_the_first_call() {
    let app = App::hs();
    let first = create(&app, "acme", "order-1", originate_body()).await;
    assert_eq!(first.status, StatusCode::CREATED);
    app.fake.set_state("call-0", "answered");
    app.advance(23 * 3600);
    let again = create(&app, "acme", "order-1", originate_body()).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body, first.body, "the first call, as first returned");
    assert_eq!(again.header("location"), "/v1/calls/call-0");
    assert_eq!(
        app.fake
            .log()
            .iter()
            .filter(|l| l.starts_with("originate"))
            .count(),
        1
    );
}

#[tokio::test]
async fn same_key_with_another_body_is_422() {
    let app = App::hs();
    create(&app, "acme", "k", originate_body()).await;
    let mut other = originate_body();
    other["to"] = json!("+15550000000");
    let r = create(&app, "acme", "k", other).await;
    assert_eq!(
        r.problem(422, "idempotency-key-mismatch").as_deref(),
        Some("Idempotency-Key")
    );
}

#[tokio::test]
async fn keys_are_per_tenant_and_expire_after_24_h() {
    let app = App::hs();
    create(&app, "acme", "k", originate_body()).await;
    assert_eq!(
        create(&app, "globex", "k", originate_body()).await.status,
        StatusCode::CREATED
    );
    app.advance(24 * 3600);
    assert_eq!(
        create(&app, "acme", "k", originate_body()).await.status,
        StatusCode::CREATED
    );
    assert_eq!(app.fake.log().len(), 3);
}

#[tokio::test]
async fn a_refused_originate_frees_its_key() {
    let mut cfg = hs_config();
    cfg.limits.burst = 1;
    cfg.limits.originate_per_minute = 6;
    let app = App::new(cfg);
    create(&app, "acme", "a", originate_body()).await;
    create(&app, "acme", "b", originate_body())
        .await
        .problem(429, "rate-limited");
    // 10 s: a token is back, and the failed attempt's claim (60 s TTL) was released.
    app.advance(10);
    assert_eq!(
        create(&app, "acme", "b", originate_body()).await.status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn bad_keys_are_422() {
    let app = App::hs();
    let long = "k".repeat(256);
    for key in ["", long.as_str()] {
        let r = create(&app, "acme", key, originate_body()).await;
        assert_eq!(
            r.problem(422, "invalid-idempotency-key").as_deref(),
            Some("Idempotency-Key")
        );
    }
    assert_eq!(
        create(&app, "acme", &"k".repeat(255), originate_body())
            .await
            .status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn memory_store_is_bounded_and_reports_in_flight_keys() {
    use crate::adapter::http::api::idempotency::{Begin, IN_FLIGHT_TTL, IdempotencyStore};
    let s = MemoryIdempotency::new(2);
    let t = TenantId::parse("acme").unwrap();
    let now = UNIX_EPOCH + Duration::from_secs(T0);
    assert_eq!(s.begin(&t, "a", 1, now).await, Begin::Fresh);
    assert_eq!(s.begin(&t, "a", 1, now).await, Begin::InProgress);
    assert_eq!(
        s.begin(&t, "a", 1, now + IN_FLIGHT_TTL).await,
        Begin::Fresh,
        "a dead claim is taken over"
    );
    assert_eq!(s.begin(&t, "b", 1, now).await, Begin::Fresh);
    assert_eq!(s.begin(&t, "c", 1, now).await, Begin::Fresh);
    assert_eq!(
        s.begin(&t, "b", 1, now).await,
        Begin::Fresh,
        "the oldest key was forgotten"
    );
}
