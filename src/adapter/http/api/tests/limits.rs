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

#[tokio::test]
async fn a_client_gone_mid_originate_keeps_the_slot_and_the_idempotency_key() {
    let app = limited(1, 600, 100);
    let gate = std::sync::Arc::new(tokio::sync::Notify::new());
    *app.fake.originate_gate.lock().unwrap() = Some(gate.clone());
    let key = [("idempotency-key", "order-42")];
    let tok = token(json!({}));
    // The client gives up while the call is being placed.
    let gave_up = tokio::time::timeout(
        std::time::Duration::from_millis(50),
        app.req(
            Method::POST,
            "/v1/calls",
            Some(&tok),
            Some(originate_body()),
            &key,
        ),
    )
    .await;
    assert!(gave_up.is_err(), "the request was still running");
    gate.notify_one();
    for _ in 0..200 {
        if !app.fake.calls.lock().unwrap().is_empty() {
            break;
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert_eq!(
        app.fake.calls.lock().unwrap().len(),
        1,
        "the call was placed"
    );
    *app.fake.originate_gate.lock().unwrap() = None;
    // Its retry gets that call, not a second one.
    let mut retry = None;
    for _ in 0..200 {
        let r = app
            .req(
                Method::POST,
                "/v1/calls",
                Some(&tok),
                Some(originate_body()),
                &key,
            )
            .await;
        if r.status != StatusCode::CONFLICT {
            retry = Some(r);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let retry = retry.expect("the key's outcome was stored");
    assert_eq!(retry.status, StatusCode::OK, "{}", retry.body);
    assert_eq!(retry.body["call_id"], "call-0");
    assert_eq!(app.fake.calls.lock().unwrap().len(), 1, "dialled once");
    // And the call still holds the tenant's one slot.
    app.post("/v1/calls", originate_body())
        .await
        .problem(429, "too-many-calls");
}
