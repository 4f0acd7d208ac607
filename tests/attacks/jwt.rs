//! Forged and misdirected bearer tokens against the call API, through its
//! router (`oneshot`, no server): `alg: none`, an HS256 token signed with the
//! RSA public key (algorithm confusion), an expired token, a token for
//! another audience, a storm of unknown key ids against the JWKS cache, and
//! a JWKS URL in clear.

use axum::{
    Router,
    body::Body,
    extract::State,
    http::{Request, StatusCode},
    routing::get,
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode, jwk::Jwk};
use serde_json::{Value, json};
use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};
use tower::ServiceExt;
use voice_gateway::{
    adapter::http::api::{ApiConfig, MemoryIdempotency, api_router_with},
    application::ports::{
        calls::{
            CallControl, CallSummary, ControlError, ListFilter, OriginateCall, Page, TransferMode,
        },
        orchestrator::BoxFuture,
    },
    domain::{CallId, DtmfDigits, SayText, TenantId, TransferTarget},
};

const SECRET: &str = "attack-suite-secret-at-least-32-bytes!!";
const AUD: &str = "voice-gateway";
const RSA_A: &[u8] = include_bytes!("../../src/adapter/http/api/testdata/rsa_a.pem");
const RSA_A_PUB: &[u8] = include_bytes!("../../src/adapter/http/api/testdata/rsa_a_pub.pem");

/// Call control with no calls: the tests are about who gets in.
struct NoCalls;

impl CallControl for NoCalls {
    fn originate(&self, _: OriginateCall) -> BoxFuture<'_, Result<CallSummary, ControlError>> {
        Box::pin(async {
            Err(ControlError::Unavailable(
                voice_gateway::application::ports::Cause::msg("not in this test"),
            ))
        })
    }
    fn get<'a>(
        &'a self,
        _: &'a TenantId,
        _: &'a CallId,
    ) -> BoxFuture<'a, Result<CallSummary, ControlError>> {
        Box::pin(async { Err(ControlError::NotFound) })
    }
    fn list<'a>(
        &'a self,
        _: &'a TenantId,
        _: ListFilter,
    ) -> BoxFuture<'a, Result<Page, ControlError>> {
        Box::pin(async {
            Ok(Page {
                calls: Vec::new(),
                next_cursor: None,
            })
        })
    }
    fn hangup<'a>(
        &'a self,
        _: &'a TenantId,
        _: &'a CallId,
    ) -> BoxFuture<'a, Result<(), ControlError>> {
        Box::pin(async { Err(ControlError::NotFound) })
    }
    fn transfer<'a>(
        &'a self,
        _: &'a TenantId,
        _: &'a CallId,
        _: TransferTarget,
        _: TransferMode,
    ) -> BoxFuture<'a, Result<(), ControlError>> {
        Box::pin(async { Err(ControlError::NotFound) })
    }
    fn say<'a>(
        &'a self,
        _: &'a TenantId,
        _: &'a CallId,
        _: SayText,
        _: bool,
    ) -> BoxFuture<'a, Result<(), ControlError>> {
        Box::pin(async { Err(ControlError::NotFound) })
    }
    fn dtmf<'a>(
        &'a self,
        _: &'a TenantId,
        _: &'a CallId,
        _: DtmfDigits,
    ) -> BoxFuture<'a, Result<(), ControlError>> {
        Box::pin(async { Err(ControlError::NotFound) })
    }
}

fn router(cfg: ApiConfig) -> Router {
    api_router_with(
        Arc::new(NoCalls),
        cfg,
        Arc::new(MemoryIdempotency::new(16)),
        Arc::new(SystemTime::now),
    )
    .unwrap()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Claims a legitimate client of tenant `acme` would carry, with `extra` merged.
fn claims(extra: Value) -> Value {
    let mut c = json!({
        "sub": "client", "tenant_id": "acme", "scope": "calls:read calls:write",
        "aud": AUD, "iat": now(), "exp": now() + 600,
    });
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

fn hs_config() -> ApiConfig {
    let mut cfg = ApiConfig::default();
    cfg.auth.jwt_secret = Some(SECRET.into());
    cfg.auth.audience = Some(AUD.into());
    cfg
}

fn hs_token(extra: Value) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        &claims(extra),
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

fn rs_token(kid: &str, pem: &[u8]) -> String {
    let mut h = Header::new(Algorithm::RS256);
    h.kid = Some(kid.into());
    encode(
        &h,
        &claims(json!({})),
        &EncodingKey::from_rsa_pem(pem).unwrap(),
    )
    .unwrap()
}

/// `GET /v1/calls` with `token`: the status, and `WWW-Authenticate`.
async fn list(app: &Router, token: &str) -> (StatusCode, String) {
    let req = Request::get("/v1/calls")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let why = res
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (res.status(), why)
}

/// An identity provider on loopback serving key `a` and counting fetches.
async fn idp() -> (String, Arc<AtomicUsize>) {
    async fn jwks(State((keys, hits)): State<(Value, Arc<AtomicUsize>)>) -> axum::Json<Value> {
        hits.fetch_add(1, Ordering::SeqCst);
        axum::Json(keys)
    }
    let mut a =
        Jwk::from_encoding_key(&EncodingKey::from_rsa_pem(RSA_A).unwrap(), Algorithm::RS256)
            .unwrap();
    a.common.key_id = Some("a".into());
    let hits = Arc::new(AtomicUsize::new(0));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new()
        .route("/jwks", get(jwks))
        .with_state((json!({ "keys": [a] }), hits.clone()));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/jwks"), hits)
}

async fn jwks_config() -> (ApiConfig, Arc<AtomicUsize>) {
    let (url, hits) = idp().await;
    let mut cfg = ApiConfig::default();
    cfg.auth.jwks_url = Some(url);
    // Loopback in a test: the flag production must never set.
    cfg.auth.jwks_insecure_http = true;
    cfg.auth.audience = Some(AUD.into());
    (cfg, hits)
}

#[tokio::test]
async fn jwt_with_alg_none_is_refused() {
    let app = router(hs_config());
    assert_eq!(list(&app, &hs_token(json!({}))).await.0, StatusCode::OK);
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let body = URL_SAFE_NO_PAD.encode(claims(json!({})).to_string());
    for token in [format!("{header}.{body}."), format!("{header}.{body}")] {
        assert_eq!(
            list(&app, &token).await.0,
            StatusCode::UNAUTHORIZED,
            "{token}"
        );
    }
}

#[tokio::test]
async fn jwt_hs256_signed_with_the_rsa_public_key_is_refused() {
    let (mut cfg, _) = jwks_config().await;
    // Both kinds configured: the HS256 token must still meet only the secret.
    cfg.auth.jwt_secret = Some(SECRET.into());
    let app = router(cfg);
    assert_eq!(list(&app, &rs_token("a", RSA_A)).await.0, StatusCode::OK);
    let mut h = Header::new(Algorithm::HS256);
    h.kid = Some("a".into());
    let forged = encode(&h, &claims(json!({})), &EncodingKey::from_secret(RSA_A_PUB)).unwrap();
    let (status, why) = list(&app, &forged).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(why.contains("signature"), "{why}");
}

#[tokio::test]
async fn jwt_expired_is_refused() {
    let app = router(hs_config());
    // Past the 30 s leeway.
    let token = hs_token(json!({"iat": now() - 7200, "exp": now() - 3600}));
    let (status, why) = list(&app, &token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(why.contains("expired"), "{why}");
}

#[tokio::test]
async fn jwt_for_another_audience_is_refused() {
    let app = router(hs_config());
    for aud in [json!("billing-service"), json!(["billing-service"])] {
        let (status, why) = list(&app, &hs_token(json!({ "aud": aud }))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(why.contains("audience"), "{why}");
    }
    // With keys from an IdP (which signs for every client it serves), the
    // audience cannot be left out of the configuration at all.
    let (mut cfg, _) = jwks_config().await;
    cfg.auth.audience = None;
    let e = api_router_with(
        Arc::new(NoCalls),
        cfg,
        Arc::new(MemoryIdempotency::new(1)),
        Arc::new(SystemTime::now),
    )
    .expect_err("refused without an audience");
    assert!(e.to_string().contains("auth.audience"), "{e}");
}

#[tokio::test]
async fn jwks_unknown_kid_storm_costs_one_fetch_and_valid_tokens_pass() {
    let (cfg, hits) = jwks_config().await;
    let app = router(cfg);
    let valid = rs_token("a", RSA_A);
    assert_eq!(list(&app, &valid).await.0, StatusCode::OK);
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    // 400 tokens with made-up kids at once, valid ones among them. The
    // attacker need not sign them: the kid is looked up before the signature.
    let (_, rest) = valid.split_once('.').unwrap();
    let mut tasks = Vec::new();
    for i in 0..400 {
        let (app, valid) = (app.clone(), valid.clone());
        let header = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"RS256","kid":"evil-{i}"}}"#));
        let evil = format!("{header}.{rest}");
        tasks.push(tokio::spawn(async move {
            if i % 10 == 0 {
                (true, list(&app, &valid).await.0)
            } else {
                (false, list(&app, &evil).await.0)
            }
        }));
    }
    let storm = tokio::time::timeout(Duration::from_secs(20), async {
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    })
    .await
    .expect("the storm is answered");
    for (is_valid, status) in storm {
        let want = if is_valid {
            StatusCode::OK
        } else {
            StatusCode::UNAUTHORIZED
        };
        assert_eq!(status, want);
    }
    assert_eq!(
        hits.load(Ordering::SeqCst),
        1,
        "the storm came within the refetch interval: no fetch"
    );
}

#[tokio::test]
async fn jwks_url_in_clear_is_refused() {
    let (mut cfg, _) = jwks_config().await;
    cfg.auth.jwks_insecure_http = false;
    let e = api_router_with(
        Arc::new(NoCalls),
        cfg,
        Arc::new(MemoryIdempotency::new(1)),
        Arc::new(SystemTime::now),
    )
    .expect_err("an http:// JWKS URL is refused");
    assert!(e.to_string().contains("https://"), "{e}");
}
