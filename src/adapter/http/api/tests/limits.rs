//! Per-tenant live-call and rate limits: 429 with `Retry-After`.

use super::*;
use crate::{adapter::http::api::TenantLimits, application::ports::calls::ControlError};

fn limited(max: u32, per_minute: u32, burst: u32) -> App {
    let mut cfg = hs_config();
    cfg.limits.max_concurrent_calls = max;
    cfg.limits.originate_per_minute = per_minute;
    cfg.limits.burst = burst;
    App::new(cfg)
}

#[tokio::test]
async fn over_the_live_call_limit_is_429_until_a_call_ends() {
    let app = limited(2, 600, 100);
    for _ in 0..2 {
        assert_eq!(
            app.post("/v1/calls", originate_body()).await.status,
            StatusCode::CREATED
        );
    }
    let r = app.post("/v1/calls", originate_body()).await;
    r.problem(429, "too-many-calls");
    assert_eq!(r.header("retry-after"), "5");
    // At the limit each tracked call was re-read, and none had ended.
    assert_eq!(
        app.fake
            .log()
            .iter()
            .filter(|l| l.starts_with("get "))
            .count(),
        2
    );
    // Another tenant is not affected.
    let globex = token(json!({"tenant_id": "globex"}));
    let r = app
        .req(
            Method::POST,
            "/v1/calls",
            Some(&globex),
            Some(originate_body()),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    app.fake.set_state("call-0", "ended");
    assert_eq!(
        app.post("/v1/calls", originate_body()).await.status,
        StatusCode::CREATED
    );
    app.post("/v1/calls", originate_body())
        .await
        .problem(429, "too-many-calls");
}

#[tokio::test]
async fn below_the_limit_no_call_is_re_read() {
    let app = limited(5, 600, 100);
    app.post("/v1/calls", originate_body()).await;
    app.post("/v1/calls", originate_body()).await;
    assert!(app.fake.log().iter().all(|l| l.starts_with("originate")));
}

#[tokio::test]
async fn over_the_rate_is_429_with_the_wait_until_a_token() {
    let app = limited(100, 6, 2); // 2 at once, then one per 10 s
    assert_eq!(
        app.post("/v1/calls", originate_body()).await.status,
        StatusCode::CREATED
    );
    assert_eq!(
        app.post("/v1/calls", originate_body()).await.status,
        StatusCode::CREATED
    );
    let r = app.post("/v1/calls", originate_body()).await;
    r.problem(429, "rate-limited");
    assert_eq!(r.header("retry-after"), "10");
    app.advance(4);
    assert_eq!(
        app.post("/v1/calls", originate_body())
            .await
            .header("retry-after"),
        "6"
    );
    app.advance(6);
    assert_eq!(
        app.post("/v1/calls", originate_body()).await.status,
        StatusCode::CREATED
    );
    assert_eq!(
        app.fake.log().len(),
        3,
        "refused originates never reached the port"
    );
}

#[tokio::test]
async fn per_tenant_overrides_apply_to_that_tenant_only() {
    let mut cfg = hs_config();
    cfg.limits.burst = 5;
    cfg.limits.per_tenant.insert(
        "acme".into(),
        TenantLimits {
            burst: Some(1),
            ..Default::default()
        },
    );
    let app = App::new(cfg);
    assert_eq!(
        app.post("/v1/calls", originate_body()).await.status,
        StatusCode::CREATED
    );
    app.post("/v1/calls", originate_body())
        .await
        .problem(429, "rate-limited");
    let globex = token(json!({"tenant_id": "globex"}));
    for _ in 0..5 {
        let r = app
            .req(
                Method::POST,
                "/v1/calls",
                Some(&globex),
                Some(originate_body()),
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED);
    }
}

#[tokio::test]
async fn an_originate_past_the_instance_cap_is_503_with_retry_after() {
    let app = App::hs();
    *app.fake.refuse_next.lock().unwrap() = Some(ControlError::AtCapacity(
        "the gateway is at its limit of 2000 live calls".into(),
    ));
    let r = app.post("/v1/calls", originate_body()).await;
    r.problem(503, "at-capacity");
    let detail = r.body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("2000 live calls"), "{detail}");
    assert_eq!(r.header("retry-after"), "5");
    // Refused once: the next is placed.
    assert_eq!(
        app.post("/v1/calls", originate_body()).await.status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn an_originate_the_dialing_policy_refuses_is_403_naming_the_rule() {
    let app = App::hs();
    *app.fake.refuse_next.lock().unwrap() = Some(ControlError::NotAllowed(
        "dialing.api_allow: +1******0100 is in the premium-rate or satellite range +1900".into(),
    ));
    let r = app.post("/v1/calls", originate_body()).await;
    r.problem(403, "not-allowed");
    let detail = r.body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("dialing.api_allow"), "{detail}");
}
