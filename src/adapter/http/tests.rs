use super::*;
use crate::application::health::DependencyState;
use axum::{body::Body, http::Request, http::StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

fn state() -> AppState {
    AppState::new(BuildInfo {
        version: "9.9.9",
        git_sha: "test",
    })
}

async fn get(state: &AppState, path: &str) -> (StatusCode, String, String) {
    let res = router(state.clone())
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let ctype = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, ctype, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn healthz_is_200_whatever_the_dependencies() {
    let s = state();
    s.readiness.set(
        "ari",
        DependencyState::Down {
            detail: "refused".into(),
        },
    );
    let (code, _, body) = get(&s, "/healthz").await;
    assert_eq!(code, StatusCode::OK);
    assert!(body.contains("\"alive\""), "{body}");
}

#[tokio::test]
async fn readyz_follows_ari_and_draining() {
    let s = state();
    s.readiness.register("ari", true);
    let (code, ctype, body) = get(&s, "/readyz").await;
    assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
    assert!(ctype.starts_with("application/json"));
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "not_ready");
    assert_eq!(v["dependencies"]["ari"]["state"], "unknown");

    s.readiness.set("ari", DependencyState::Up);
    let (code, _, body) = get(&s, "/readyz").await;
    assert_eq!(code, StatusCode::OK, "{body}");

    s.readiness.begin_drain();
    let (code, _, body) = get(&s, "/readyz").await;
    assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("\"draining\""), "{body}");
}

#[tokio::test]
async fn readyz_asks_for_no_more_calls_at_the_high_water_mark() {
    use crate::application::admission::{AdmissionLimits, CallAdmission};
    let mut s = state();
    s.admission = std::sync::Arc::new(CallAdmission::new(AdmissionLimits {
        max_live_calls: 3,
        high_water: 2,
        ..Default::default()
    }));
    let _one = s.admission.try_admit().unwrap();
    let (code, _, body) = get(&s, "/readyz").await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let two = s.admission.try_admit().unwrap();
    let (code, _, body) = get(&s, "/readyz").await;
    assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "at_capacity");
    assert_eq!(v["calls"]["live"], 2);
    assert_eq!(v["calls"]["max"], 3);
    drop(two);
    let (code, _, body) = get(&s, "/readyz").await;
    assert_eq!(code, StatusCode::OK, "back below the mark: {body}");
}

#[tokio::test]
async fn metrics_serves_openmetrics_text() {
    let s = state();
    let (code, ctype, body) = get(&s, "/metrics").await;
    assert_eq!(code, StatusCode::OK);
    assert!(ctype.starts_with("application/openmetrics-text"));
    assert!(
        body.contains("voicegw_build_info{version=\"9.9.9\",git_sha=\"test\"} 1"),
        "{body}"
    );
    assert!(body.contains("process_resident_memory_bytes"), "{body}");
}

#[tokio::test]
async fn unknown_paths_get_a_problem_document() {
    let (code, ctype, body) = get(&state(), "/nope").await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    assert_eq!(ctype, "application/problem+json");
    assert!(body.contains("no route for /nope"));
}
