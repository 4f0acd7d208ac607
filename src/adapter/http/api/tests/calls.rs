//! Each endpoint's happy path, and tenant isolation.

use super::*;

#[tokio::test]
async fn originate_returns_201_with_location_and_the_call() {
    let app = App::hs();
    let body = json!({
        "to": "+15551234567", "from": "+442071234567", "agent_id": "sales.v2",
        "metadata": { "crm_id": "42" }, "ring_timeout_secs": 45
    });
    let r = app.post("/v1/calls", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.header("location"), "/v1/calls/call-0");
    assert_eq!(r.body["call_id"], "call-0");
    assert_eq!(r.body["tenant_id"], "acme");
    assert_eq!(r.body["state"], "originating");
    assert_eq!(r.body["direction"], "outbound");
    assert_eq!(r.body["from"], "+442071234567");
    assert_eq!(r.body["metadata"]["crm_id"], "42");
    assert_eq!(r.body["created_at"], "2026-01-01T00:00:00.000Z");
    assert_eq!(app.fake.log(), ["originate acme +15551234567 sales.v2 45s"]);
}

#[tokio::test]
async fn originate_defaults_ring_timeout_to_30_s() {
    let app = App::hs();
    assert_eq!(
        app.post("/v1/calls", originate_body()).await.status,
        StatusCode::CREATED
    );
    assert_eq!(app.fake.log(), ["originate acme +15551234567 sales 30s"]);
}

#[tokio::test]
async fn get_returns_the_call() {
    let app = App::hs();
    app.post("/v1/calls", originate_body()).await;
    let r = app.get("/v1/calls/call-0").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["call_id"], "call-0");
    assert_eq!(r.body["to"], "+15551234567");
}

#[tokio::test]
async fn list_passes_the_filter_and_defaults_the_limit() {
    let app = App::hs();
    app.post("/v1/calls", originate_body()).await;
    app.fake.insert("other", "theirs");
    let r = app.get("/v1/calls").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["calls"].as_array().unwrap().len(), 1);
    assert!(r.body["next_cursor"].is_null());
    let r = app.get("/v1/calls?state=active&limit=5&cursor=abc").await;
    assert_eq!(r.status, StatusCode::OK);
    let log = app.fake.log();
    assert_eq!(log[1], "list acme None 20 None");
    assert_eq!(log[2], "list acme Some(\"active\") 5 Some(\"abc\")");
}

#[tokio::test]
async fn hangup_transfer_say_dtmf_reach_the_port() {
    let app = App::hs();
    app.post("/v1/calls", originate_body()).await;
    let r = app
        .req(
            Method::POST,
            "/v1/calls/call-0/hangup",
            Some(&token(json!({}))),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert_eq!(r.body, json!({"call_id": "call-0", "action": "hangup"}));
    let r = app
        .post(
            "/v1/calls/call-0/transfer",
            json!({"target": "+15557654321", "mode": "attended"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let r = app
        .post("/v1/calls/call-0/say", json!({"text": "One moment"}))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let r = app
        .post(
            "/v1/calls/call-0/say",
            json!({"text": "Now", "interrupt": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let r = app
        .post("/v1/calls/call-0/dtmf", json!({"digits": "12*#AD"}))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert_eq!(
        app.fake.log()[1..],
        [
            "hangup acme call-0",
            "transfer acme call-0 +15557654321 Attended",
            "say acme call-0 One moment false",
            "say acme call-0 Now true",
            "dtmf acme call-0 12*#AD",
        ]
    );
}

#[tokio::test]
async fn another_tenants_call_is_404_for_every_operation() {
    let app = App::hs();
    app.fake.insert("globex", "theirs");
    app.get("/v1/calls/theirs").await.problem(404, "not-found");
    let t = token(json!({}));
    app.req(Method::POST, "/v1/calls/theirs/hangup", Some(&t), None, &[])
        .await
        .problem(404, "not-found");
    app.post("/v1/calls/theirs/say", json!({"text": "hi"}))
        .await
        .problem(404, "not-found");
    app.post("/v1/calls/theirs/dtmf", json!({"digits": "1"}))
        .await
        .problem(404, "not-found");
    app.post(
        "/v1/calls/theirs/transfer",
        json!({"target": "100", "mode": "blind"}),
    )
    .await
    .problem(404, "not-found");
    // The owner sees it.
    let r = app
        .req(
            Method::GET,
            "/v1/calls/theirs",
            Some(&token(json!({"tenant_id": "globex"}))),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn a_wrong_method_is_a_405_problem() {
    let app = App::hs();
    let r = app
        .req(
            Method::DELETE,
            "/v1/calls/call-0",
            Some(&token(json!({}))),
            None,
            &[],
        )
        .await;
    r.problem(405, "method-not-allowed");
    assert!(app.fake.log().is_empty());
}
