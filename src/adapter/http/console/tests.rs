//! The console's routes through `oneshot`: the page and its policy, tokens
//! and scopes, tenant isolation, the stream's first event.

use super::*;
use crate::{
    adapter::telemetry::BuildInfo,
    application::ports::{
        Cause,
        events::CallEvent,
        history::{CallRecord, HistoryError, MemoryHistory, TurnRecord},
        orchestrator::BoxFuture,
    },
    domain::{
        TenantId,
        call::{Direction, EndReason},
        events::{EventType, TurnLatency},
    },
};
use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use http_body_util::BodyExt;
use jsonwebtoken::{EncodingKey, Header, encode};
use serde_json::{Value, json};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tower::ServiceExt;

const SECRET: &str = "test-secret-that-is-at-least-32-bytes-long";
const T0: u64 = 1_767_225_600;

fn token(tenant: &str, scope: &str) -> String {
    let claims = json!({"sub": "op", "tenant_id": tenant, "scope": scope, "exp": T0 + 600});
    encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

/// A history holding an ended call of acme's this instance no longer holds.
async fn history() -> Arc<dyn CallHistory> {
    let h = MemoryHistory::default();
    let latency = TurnLatency {
        stt_ms: Some(120.0),
        total_ms: Some(640.5),
        ..TurnLatency::default()
    };
    h.record(CallRecord {
        call_id: CallId::parse("old1").unwrap(),
        tenant: TenantId::parse("acme").unwrap(),
        direction: Direction::Inbound,
        from: Some("+15551234567".into()),
        to: Some("+15557654321".into()),
        started_at: UNIX_EPOCH + Duration::from_secs(T0 - 100),
        answered_at: None,
        ended_at: UNIX_EPOCH + Duration::from_secs(T0 - 90),
        reason: EndReason::Error("card 4111 1111 1111 1111 declined".into()),
        turns: vec![TurnRecord {
            caller: Some("it is 4111111111111111".into()),
            agent: Some("thanks".into()),
            interrupted: false,
            barge_in: None,
            latency,
        }],
    })
    .await
    .unwrap();
    Arc::new(h)
}

/// A history whose database is away.
struct Down;

impl CallHistory for Down {
    fn record(&self, _: CallRecord) -> BoxFuture<'_, Result<(), HistoryError>> {
        Box::pin(async { Ok(()) })
    }
    fn find<'a>(
        &'a self,
        _: &'a CallId,
    ) -> BoxFuture<'a, Result<Option<CallRecord>, HistoryError>> {
        Box::pin(async {
            Err(HistoryError::Unavailable(Cause::msg(
                "connection refused by db.internal:5432",
            )))
        })
    }
}

async fn app() -> (Router, Arc<ConsoleHub>) {
    app_with(history().await)
}

fn app_with(history: Arc<dyn CallHistory>) -> (Router, Arc<ConsoleHub>) {
    let hub = Arc::new(ConsoleHub::default());
    let mut cfg = ApiConfig::default();
    cfg.auth.jwt_secret = Some(SECRET.into());
    let state = AppState::new(BuildInfo {
        version: "9.9.9",
        git_sha: "test",
    });
    let clock: Clock = Arc::new(|| UNIX_EPOCH + Duration::from_secs(T0));
    let router = console_router(state, hub.clone(), history, &cfg, clock).unwrap();
    for (call, tenant) in [("a1", "acme"), ("g1", "globex")] {
        hub.observe(&CallEvent::new(
            EventType::CallStarted,
            CallId::parse(call).unwrap(),
            TenantId::parse(tenant).unwrap(),
            SystemTime::UNIX_EPOCH + Duration::from_secs(T0 - 1),
            json!({"direction": "inbound", "did": "+15557654321", "caller_number": "+15551234567"}),
        ));
    }
    (router, hub)
}

async fn get(
    router: &Router,
    path: &str,
    bearer: Option<&str>,
) -> (StatusCode, Vec<(String, String)>, String) {
    let mut req = Request::get(path);
    if let Some(t) = bearer {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let res = router
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let headers = res
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

fn header<'a>(h: &'a [(String, String)], name: &str) -> &'a str {
    h.iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

#[tokio::test]
async fn the_page_needs_no_token_and_allows_only_its_own_origin() {
    let (router, _) = app().await;
    for path in ["/console", "/console/app.js", "/console/console.css"] {
        let (status, h, body) = get(&router, path, None).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        let csp = header(&h, "content-security-policy");
        assert!(
            csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
            "{csp}"
        );
        assert!(csp.contains("connect-src 'self'"), "{csp}");
        assert!(
            !body.contains("http://") || path == "/console/app.js",
            "no outside resource in {path}"
        );
    }
    let (_, _, page) = get(&router, "/console", None).await;
    assert!(!page.contains("<script>"), "no inline script");
    let (_, _, js) = get(&router, "/console/app.js", None).await;
    assert!(
        !js.contains("EventSource("),
        "the stream is read with fetch and a header"
    );
}

#[tokio::test]
async fn data_needs_a_token_with_a_read_scope() {
    let (router, _) = app().await;
    let (status, _, _) = get(&router, "/console/api/calls/a1", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = get(&router, "/console/api/calls/a1", Some("not.a.jwt")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let writer = token("acme", "calls:write");
    let (status, _, _) = get(&router, "/console/api/stream", Some(&writer)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_tenant_sees_its_own_calls_and_console_read_sees_all() {
    let (router, _) = app().await;
    let acme = token("acme", "calls:read");
    let (status, _, body) = get(&router, "/console/api/calls/a1", Some(&acme)).await;
    assert_eq!(status, StatusCode::OK);
    let call: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(call["from"], "+1******4567", "numbers masked like the logs");
    let (status, _, _) = get(&router, "/console/api/calls/g1", Some(&acme)).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "another tenant's call is absent"
    );
    let op = token("ops", "console:read");
    let (status, _, _) = get(&router, "/console/api/calls/g1", Some(&op)).await;
    assert_eq!(status, StatusCode::OK);
}

async fn first_event(router: &Router, bearer: &str) -> String {
    let req = Request::get("/console/api/stream")
        .header("authorization", format!("Bearer {bearer}"))
        .body(Body::empty())
        .unwrap();
    let res = router.clone().oneshot(req).await.unwrap();
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let mut body = res.into_body();
    let frame = body.frame().await.unwrap().unwrap();
    String::from_utf8(frame.into_data().unwrap().to_vec()).unwrap()
}

#[tokio::test]
async fn the_stream_starts_with_the_calls_the_viewer_may_see() {
    let (router, _) = app().await;
    let acme = first_event(&router, &token("acme", "calls:read")).await;
    assert!(acme.starts_with("event: snapshot\n"), "{acme}");
    assert!(
        acme.contains("\"a1\"") && !acme.contains("\"g1\""),
        "{acme}"
    );
    assert!(
        !acme.contains("dependencies"),
        "a tenant is not shown the instance's dependencies"
    );
    let all = first_event(&router, &token("ops", "console:read")).await;
    assert!(all.contains("\"a1\"") && all.contains("\"g1\""), "{all}");
}

#[tokio::test]
async fn latency_takes_5_or_60_minutes_only() {
    let (router, _) = app().await;
    let op = token("ops", "console:read");
    let (status, _, body) = get(&router, "/console/api/latency?minutes=5", Some(&op)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for bad in ["minutes=7", "minutes=x", "", "minutes=5&x=1"] {
        let (status, _, _) = get(&router, &format!("/console/api/latency?{bad}"), Some(&op)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
}

#[tokio::test]
async fn the_stream_sends_each_change_of_a_visible_call_only() {
    let (router, hub) = app().await;
    let req = Request::get("/console/api/stream")
        .header(
            "authorization",
            format!("Bearer {}", token("acme", "calls:read")),
        )
        .body(Body::empty())
        .unwrap();
    let mut body = router.oneshot(req).await.unwrap().into_body();
    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
    assert!(first.starts_with(b"event: snapshot\n"));
    for (call, tenant) in [("g1", "globex"), ("a1", "acme")] {
        hub.observe(&CallEvent::new(
            EventType::CallEnded,
            CallId::parse(call).unwrap(),
            TenantId::parse(tenant).unwrap(),
            SystemTime::UNIX_EPOCH + Duration::from_secs(T0),
            json!({"reason": "caller_hangup", "duration_ms": 5, "turns": 0}),
        ));
    }
    let next = body.frame().await.unwrap().unwrap().into_data().unwrap();
    let next = String::from_utf8(next.to_vec()).unwrap();
    assert!(next.starts_with("event: call\n"), "{next}");
    assert!(
        next.contains("\"a1\"") && next.contains("\"ended\""),
        "globex's end skipped: {next}"
    );
}

#[tokio::test]
async fn an_ended_call_no_longer_held_is_read_from_the_history_for_its_tenant_only() {
    let (router, _) = app().await;
    let acme = token("acme", "calls:read");
    let (status, _, body) = get(&router, "/console/api/calls/old1", Some(&acme)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let call: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(call["source"], "history");
    assert_eq!(call["end_reason"], "error");
    assert_eq!(call["from"], "+1******4567");
    assert_eq!(
        call["exchanges"][0]["caller"], "it is ************1111",
        "the record's masking kept"
    );
    assert_eq!(call["latency"][0]["total_ms"], 640.5);
    assert!(!body.contains("4111 1111"), "{body}");
    let globex = token("globex", "calls:read");
    let (status, _, _) = get(&router, "/console/api/calls/old1", Some(&globex)).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "another tenant's record is absent"
    );
    let op = token("ops", "console:read");
    let (status, _, _) = get(&router, "/console/api/calls/old1", Some(&op)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = get(&router, "/console/api/calls/never", Some(&op)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_history_that_cannot_be_read_is_a_503_and_held_calls_still_show() {
    let (router, _) = app_with(Arc::new(Down));
    let op = token("ops", "console:read");
    let (status, _, body) = get(&router, "/console/api/calls/old1", Some(&op)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body.contains("history-unavailable"), "{body}");
    assert!(
        !body.contains("db.internal"),
        "the cause stays in the log: {body}"
    );
    let (status, _, _) = get(&router, "/console/api/calls/a1", Some(&op)).await;
    assert_eq!(status, StatusCode::OK);
}
