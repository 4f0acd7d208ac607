//! RS256/ES256 with keys from a JWKS served by a local axum server: caching,
//! rotation, the refetch rate limit, and algorithm confusion.

use super::*;
use axum::{extract::State, routing::get};
use jsonwebtoken::{Algorithm, jwk::Jwk};
use std::sync::atomic::AtomicUsize;

const RSA_A: &[u8] = include_bytes!("../testdata/rsa_a.pem");
const RSA_B: &[u8] = include_bytes!("../testdata/rsa_b.pem");
const EC_A: &[u8] = include_bytes!("../testdata/ec_a.pem");
const RSA_A_PUB: &[u8] = include_bytes!("../testdata/rsa_a_pub.pem");

/// The identity provider: serves `keys` and counts fetches.
#[derive(Default)]
struct Idp {
    keys: Mutex<Vec<Jwk>>,
    hits: AtomicUsize,
}

fn signing_key(alg: Algorithm, pem: &[u8]) -> EncodingKey {
    match alg {
        Algorithm::ES256 => EncodingKey::from_ec_pem(pem).unwrap(),
        _ => EncodingKey::from_rsa_pem(pem).unwrap(),
    }
}

fn jwk(kid: &str, alg: Algorithm, pem: &[u8]) -> Jwk {
    let mut k = Jwk::from_encoding_key(&signing_key(alg, pem), alg).unwrap();
    k.common.key_id = Some(kid.into());
    k
}

/// The audience the JWKS tests require (and their tokens carry).
const AUD: &str = "voice-gateway";

fn signed(kid: &str, alg: Algorithm, pem: &[u8], extra: Value) -> String {
    let mut h = Header::new(alg);
    h.kid = Some(kid.into());
    let mut c = claims(extra);
    if c.get("aud").is_none() {
        c["aud"] = AUD.into();
    }
    encode(&h, &c, &signing_key(alg, pem)).unwrap()
}

async fn serve(idp: Arc<Idp>) -> String {
    async fn jwks(State(idp): State<Arc<Idp>>) -> axum::Json<Value> {
        idp.hits.fetch_add(1, Ordering::SeqCst);
        axum::Json(json!({ "keys": *idp.keys.lock().unwrap() }))
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().route("/jwks", get(jwks)).with_state(idp);
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/jwks")
}

async fn setup(keys: Vec<Jwk>, secret: Option<&str>) -> (App, Arc<Idp>) {
    let idp = Arc::new(Idp {
        keys: Mutex::new(keys),
        ..Default::default()
    });
    let mut cfg = ApiConfig::default();
    cfg.auth.jwks_url = Some(serve(idp.clone()).await);
    cfg.auth.jwks_insecure_http = true;
    cfg.auth.audience = Some(AUD.into());
    cfg.auth.jwt_secret = secret.map(str::to_owned);
    (App::new(cfg), idp)
}

async fn status(app: &App, token: &str) -> Reply {
    app.req(Method::GET, "/v1/calls", Some(token), None, &[])
        .await
}

#[tokio::test]
async fn rs256_and_es256_verify_with_one_fetch() {
    let (app, idp) = setup(
        vec![
            jwk("a", Algorithm::RS256, RSA_A),
            jwk("e", Algorithm::ES256, EC_A),
        ],
        None,
    )
    .await;
    for _ in 0..3 {
        assert_eq!(
            status(&app, &signed("a", Algorithm::RS256, RSA_A, json!({})))
                .await
                .status,
            StatusCode::OK
        );
        assert_eq!(
            status(&app, &signed("e", Algorithm::ES256, EC_A, json!({})))
                .await
                .status,
            StatusCode::OK
        );
    }
    assert_eq!(idp.hits.load(Ordering::SeqCst), 1, "keys are cached");
    let expired = signed("a", Algorithm::RS256, RSA_A, json!({"exp": T0 - 3600}));
    status(&app, &expired).await.problem(401, "invalid-token");
}

#[tokio::test]
async fn unknown_kid_refetches_at_most_once_per_interval() {
    let (app, idp) = setup(vec![jwk("a", Algorithm::RS256, RSA_A)], None).await;
    assert_eq!(
        status(&app, &signed("a", Algorithm::RS256, RSA_A, json!({})))
            .await
            .status,
        StatusCode::OK
    );
    // Rotation: the IdP publishes b right after our fetch.
    idp.keys
        .lock()
        .unwrap()
        .push(jwk("b", Algorithm::RS256, RSA_B));
    let b = signed("b", Algorithm::RS256, RSA_B, json!({}));
    let r = status(&app, &b).await;
    r.problem(401, "invalid-token");
    assert!(r.header("www-authenticate").contains("unknown"));
    // A flood of made-up kids inside the interval fetches nothing.
    for i in 0..50 {
        status(
            &app,
            &signed(&format!("evil-{i}"), Algorithm::RS256, RSA_B, json!({})),
        )
        .await
        .problem(401, "invalid-token");
    }
    assert_eq!(idp.hits.load(Ordering::SeqCst), 1);
    app.advance(crate::adapter::http::api::auth::MIN_REFETCH.as_secs());
    assert_eq!(
        status(&app, &b).await.status,
        StatusCode::OK,
        "refetched: rotated key found"
    );
    assert_eq!(idp.hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn hs256_signed_with_the_public_key_is_refused() {
    let forged = encode(
        &Header::new(Algorithm::HS256),
        &claims(json!({})),
        &EncodingKey::from_secret(RSA_A_PUB),
    )
    .unwrap();
    let mut with_kid = Header::new(Algorithm::HS256);
    with_kid.kid = Some("a".into());
    let forged_kid = encode(
        &with_kid,
        &claims(json!({})),
        &EncodingKey::from_secret(RSA_A_PUB),
    )
    .unwrap();
    // JWKS only: HS256 is not accepted at all.
    let (app, _) = setup(vec![jwk("a", Algorithm::RS256, RSA_A)], None).await;
    for t in [&forged, &forged_kid] {
        let r = status(&app, t).await;
        r.problem(401, "invalid-token");
        assert!(
            r.header("www-authenticate")
                .contains("HS256 tokens are not accepted")
        );
    }
    // JWKS and a secret: HS256 is checked against the secret only.
    let (app, _) = setup(vec![jwk("a", Algorithm::RS256, RSA_A)], Some(SECRET)).await;
    for t in [&forged, &forged_kid] {
        assert!(
            status(&app, t)
                .await
                .header("www-authenticate")
                .contains("signature")
        );
    }
    // The audience JWKS requires applies to HS256 tokens as well.
    assert_eq!(
        status(&app, &token(json!({"aud": AUD}))).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn token_alg_must_match_the_keys() {
    let mut no_alg = jwk("x", Algorithm::RS256, RSA_A);
    no_alg.common.key_algorithm = None;
    let (app, _) = setup(
        vec![
            jwk("a", Algorithm::RS256, RSA_A),
            jwk("e", Algorithm::ES256, EC_A),
            no_alg,
        ],
        None,
    )
    .await;
    // ES256 token naming the RSA key, and RS256 naming the EC key.
    let r = status(&app, &signed("a", Algorithm::ES256, EC_A, json!({}))).await;
    assert!(
        r.header("www-authenticate").contains("differs"),
        "{}",
        r.header("www-authenticate")
    );
    status(&app, &signed("e", Algorithm::RS256, RSA_A, json!({})))
        .await
        .problem(401, "invalid-token");
    // A key without `alg` still must be of the token's type.
    let r = status(&app, &signed("x", Algorithm::ES256, EC_A, json!({}))).await;
    assert!(r.header("www-authenticate").contains("does not fit"));
    assert_eq!(
        status(&app, &signed("x", Algorithm::RS256, RSA_A, json!({})))
            .await
            .status,
        StatusCode::OK
    );
    // RS384 is not an accepted algorithm even with a valid RSA key.
    status(&app, &signed("x", Algorithm::RS384, RSA_A, json!({})))
        .await
        .problem(401, "invalid-token");
    // No kid at all.
    let t = encode(
        &Header::new(Algorithm::RS256),
        &claims(json!({})),
        &signing_key(Algorithm::RS256, RSA_A),
    )
    .unwrap();
    assert!(
        status(&app, &t)
            .await
            .header("www-authenticate")
            .contains("kid")
    );
}

#[tokio::test]
async fn an_unreachable_idp_is_401_not_500() {
    let mut cfg = ApiConfig::default();
    cfg.auth.jwks_url = Some("http://127.0.0.1:9/jwks".into());
    cfg.auth.jwks_insecure_http = true;
    cfg.auth.audience = Some(AUD.into());
    let app = App::new(cfg);
    status(&app, &signed("a", Algorithm::RS256, RSA_A, json!({})))
        .await
        .problem(401, "invalid-token");
}

#[tokio::test]
async fn a_held_key_never_waits_behind_a_fetch() {
    // The IdP answers its first fetch, then hangs until released.
    #[derive(Clone)]
    struct Slow {
        keys: Value,
        hits: Arc<AtomicUsize>,
        release: Arc<tokio::sync::Notify>,
    }
    async fn jwks(State(s): State<Slow>) -> axum::Json<Value> {
        if s.hits.fetch_add(1, Ordering::SeqCst) > 0 {
            s.release.notified().await;
        }
        axum::Json(s.keys.clone())
    }
    let slow = Slow {
        keys: json!({ "keys": [jwk("a", Algorithm::RS256, RSA_A)] }),
        hits: Arc::default(),
        release: Arc::default(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new()
        .route("/jwks", get(jwks))
        .with_state(slow.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let mut cfg = ApiConfig::default();
    cfg.auth.jwks_url = Some(format!("http://{addr}/jwks"));
    cfg.auth.jwks_insecure_http = true;
    cfg.auth.audience = Some(AUD.into());
    let app = Arc::new(App::new(cfg));
    let valid = signed("a", Algorithm::RS256, RSA_A, json!({}));
    assert_eq!(status(&app, &valid).await.status, StatusCode::OK);

    // An unknown kid after the interval starts a fetch that hangs.
    app.advance(crate::adapter::http::api::auth::MIN_REFETCH.as_secs());
    let stuck = {
        let app = app.clone();
        tokio::spawn(async move {
            status(&app, &signed("new", Algorithm::RS256, RSA_B, json!({})))
                .await
                .status
        })
    };
    while slow.hits.load(Ordering::SeqCst) < 2 {
        tokio::task::yield_now().await;
    }
    // Meanwhile a token whose key is held is answered at once.
    let r = tokio::time::timeout(Duration::from_secs(2), status(&app, &valid))
        .await
        .expect("a valid token waited behind the JWKS fetch");
    assert_eq!(r.status, StatusCode::OK);
    assert!(!stuck.is_finished(), "the unknown kid waits for its fetch");
    slow.release.notify_waiters();
    assert_eq!(stuck.await.unwrap(), StatusCode::UNAUTHORIZED);
}

#[test]
fn jwks_needs_https_and_an_audience() {
    let build = |url: &str, insecure: bool, aud: Option<&str>| {
        let mut cfg = ApiConfig::default();
        cfg.auth.jwks_url = Some(url.into());
        cfg.auth.jwks_insecure_http = insecure;
        cfg.auth.audience = aud.map(str::to_owned);
        api_router_with(
            Arc::new(fake::FakeControl::default()),
            cfg,
            Arc::new(MemoryIdempotency::new(1)),
            Arc::new(SystemTime::now),
        )
        .map(|_| ())
        .map_err(|e| e.to_string())
    };
    let e = build("http://idp/jwks", false, Some(AUD)).unwrap_err();
    assert!(e.contains("not an https:// URL"), "{e}");
    let e = build("https://idp/jwks", false, None).unwrap_err();
    assert!(e.contains("needs auth.audience"), "{e}");
    assert!(build("https://idp/jwks", false, Some(AUD)).is_ok());
    assert!(build("http://127.0.0.1/jwks", true, Some(AUD)).is_ok());
}
