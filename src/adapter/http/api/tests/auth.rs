//! Bearer-token checks with HS256: every way a token can be refused, scopes,
//! and the routes that need none.

use super::*;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};

async fn with(app: &App, token: Option<&str>) -> Reply {
    app.req(Method::GET, "/v1/calls", token, None, &[]).await
}

/// Asserts a 401 with a Bearer challenge whose description contains `why`.
fn assert_401(r: &Reply, why: &str) {
    r.problem(401, "invalid-token");
    let challenge = r.header("www-authenticate");
    assert!(
        challenge.starts_with("Bearer error=\"invalid_token\", error_description=\""),
        "{challenge}"
    );
    assert!(challenge.contains(why), "{challenge} lacks {why}");
}

#[tokio::test]
async fn a_valid_token_passes() {
    assert_eq!(
        with(&App::hs(), Some(&token(json!({})))).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn missing_and_malformed_tokens_are_401() {
    let app = App::hs();
    assert_401(&with(&app, None).await, "no bearer token");
    assert_401(
        &with(&app, Some("not-a-jwt")).await,
        "not a well-formed JWT",
    );
    let r = app
        .send(
            Request::get("/v1/calls")
                .header("authorization", "Basic dXNlcjpwdw==")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_401(&r, "Bearer <token>");
}

#[tokio::test]
async fn expired_is_401_but_leeway_is_honoured() {
    let app = App::hs();
    assert_401(
        &with(&app, Some(&token(json!({"exp": T0 - 60})))).await,
        "expired",
    );
    // 30 s leeway by default: 10 s past exp still passes.
    assert_eq!(
        with(&app, Some(&token(json!({"exp": T0 - 10}))))
            .await
            .status,
        StatusCode::OK
    );
    // The same token expires when the clock moves on.
    let t = token(json!({"exp": T0 + 100}));
    assert_eq!(with(&app, Some(&t)).await.status, StatusCode::OK);
    app.advance(200);
    assert_401(&with(&app, Some(&t)).await, "expired");
}

#[tokio::test]
async fn missing_exp_is_401() {
    assert_401(
        &with(&App::hs(), Some(&token(json!({"exp": null})))).await,
        "no numeric exp",
    );
}

#[tokio::test]
async fn nbf_in_the_future_is_401() {
    let app = App::hs();
    assert_401(
        &with(&app, Some(&token(json!({"nbf": T0 + 300})))).await,
        "not valid yet",
    );
    assert_eq!(
        with(&app, Some(&token(json!({"nbf": T0 + 5}))))
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn wrong_issuer_and_audience_are_401() {
    let mut cfg = hs_config();
    cfg.auth.issuer = Some("https://idp.example".into());
    cfg.auth.audience = Some("voice-gateway".into());
    let app = App::new(cfg);
    let good = json!({"iss": "https://idp.example", "aud": "voice-gateway"});
    assert_eq!(with(&app, Some(&token(good))).await.status, StatusCode::OK);
    let r = with(
        &app,
        Some(&token(
            json!({"iss": "https://evil.example", "aud": "voice-gateway"}),
        )),
    )
    .await;
    assert_401(&r, "issuer");
    let r = with(
        &app,
        Some(&token(
            json!({"iss": "https://idp.example", "aud": "other"}),
        )),
    )
    .await;
    assert_401(&r, "audience");
    assert_401(
        &with(&app, Some(&token(json!({"aud": "voice-gateway"})))).await,
        "issuer",
    );
}

#[tokio::test]
async fn alg_none_is_401() {
    let header = B64.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let body = B64.encode(claims(json!({})).to_string());
    for t in [format!("{header}.{body}."), format!("{header}.{body}")] {
        assert_401(&with(&App::hs(), Some(&t)).await, "not a well-formed JWT");
    }
}

#[tokio::test]
async fn tampered_signature_or_payload_is_401() {
    let app = App::hs();
    let t = token(json!({}));
    let (head_body, _sig) = t.rsplit_once('.').unwrap();
    let forged = format!("{head_body}.{}", B64.encode([0u8; 32]));
    assert_401(&with(&app, Some(&forged)).await, "signature");
    let mut parts: Vec<String> = t.split('.').map(str::to_owned).collect();
    parts[1] = B64.encode(claims(json!({"tenant_id": "globex"})).to_string());
    assert_401(&with(&app, Some(&parts.join("."))).await, "signature");
    let other = encode(
        &Header::default(),
        &claims(json!({})),
        &EncodingKey::from_secret(b"another-secret-of-32-bytes-or-more!!"),
    )
    .unwrap();
    assert_401(&with(&app, Some(&other)).await, "signature");
}

#[tokio::test]
async fn rs256_token_without_jwks_is_401() {
    let key = EncodingKey::from_rsa_pem(include_bytes!("../testdata/rsa_a.pem")).unwrap();
    let mut h = Header::new(jsonwebtoken::Algorithm::RS256);
    h.kid = Some("a".into());
    let t = encode(&h, &claims(json!({})), &key).unwrap();
    assert_401(
        &with(&App::hs(), Some(&t)).await,
        "RS256 tokens are not accepted",
    );
}

#[tokio::test]
async fn tenant_claim_is_required_and_configurable() {
    assert_401(
        &with(&App::hs(), Some(&token(json!({"tenant_id": null})))).await,
        "no tenant_id claim",
    );
    assert_401(
        &with(&App::hs(), Some(&token(json!({"tenant_id": "a b"})))).await,
        "tenant id",
    );
    let mut cfg = hs_config();
    cfg.auth.tenant_claim = "org".into();
    cfg.auth.scope_claim = "scp".into();
    let app = App::new(cfg);
    let t =
        token(json!({"tenant_id": null, "scope": null, "org": "globex", "scp": ["calls:read"]}));
    assert_eq!(with(&app, Some(&t)).await.status, StatusCode::OK);
}

#[tokio::test]
async fn wrong_scope_is_403() {
    let app = App::hs();
    let read_only = token(json!({"scope": "calls:read"}));
    assert_eq!(with(&app, Some(&read_only)).await.status, StatusCode::OK);
    let r = app
        .req(
            Method::POST,
            "/v1/calls",
            Some(&read_only),
            Some(originate_body()),
            &[],
        )
        .await;
    r.problem(403, "insufficient-scope");
    assert!(
        r.header("www-authenticate")
            .contains("error=\"insufficient_scope\"")
    );
    assert!(
        r.header("www-authenticate")
            .contains("scope=\"calls:write\"")
    );
    let write_only = token(json!({"scope": ["calls:write"]}));
    with(&app, Some(&write_only))
        .await
        .problem(403, "insufficient-scope");
    assert_eq!(
        app.fake.log().len(),
        1,
        "only the allowed list reached the port"
    );
}

#[tokio::test]
async fn auth_comes_before_body_checks() {
    let app = App::hs();
    let r = app
        .req(
            Method::POST,
            "/v1/calls",
            None,
            Some(json!({"to": "PJSIP/x"})),
            &[],
        )
        .await;
    r.problem(401, "invalid-token");
}

#[tokio::test]
async fn no_secret_and_no_jwks_refuses_to_build() {
    let e = super::super::api_router(Arc::new(FakeControl::default()), ApiConfig::default())
        .unwrap_err();
    assert!(e.to_string().contains("auth.jwt_secret"), "{e}");
    let mut cfg = ApiConfig::default();
    cfg.auth.jwt_secret = Some("short".into());
    assert!(super::super::api_router(Arc::new(FakeControl::default()), cfg).is_err());
}

#[tokio::test]
async fn management_and_docs_routes_need_no_token() {
    let state = crate::adapter::http::AppState::new(crate::adapter::telemetry::BuildInfo {
        version: "1",
        git_sha: "t",
    });
    let router =
        crate::adapter::http::router_with_api(state, Arc::new(FakeControl::default()), hs_config())
            .unwrap();
    for path in ["/healthz", "/metrics", "/openapi.json", "/docs"] {
        let res = router
            .clone()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
    }
    let res = router
        .oneshot(Request::get("/v1/calls").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}
