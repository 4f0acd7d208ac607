//! The identity provider's signing keys, fetched from its JWKS URL and cached.
//!
//! A token naming an unknown `kid` triggers a refetch (key rotation), but at
//! most one fetch per [`MIN_REFETCH`]: a flood of tokens with made-up kids
//! costs the IdP one request per interval, not one per token. The lock is
//! held across the fetch so concurrent misses share it.

use super::bad;
use crate::adapter::http::api::{Clock, problem::ApiError};
use jsonwebtoken::{
    Algorithm, DecodingKey,
    jwk::{AlgorithmParameters, EllipticCurve, Jwk, PublicKeyUse},
};
use std::{
    collections::HashMap,
    time::{Duration, SystemTime},
};
use tokio::sync::Mutex;

/// Least time between two fetches, whatever tokens arrive.
pub(crate) const MIN_REFETCH: Duration = Duration::from_secs(10);
/// Keys older than this are refetched on the next request (errors keep the old ones).
const MAX_AGE: Duration = Duration::from_secs(600);
/// A JWKS document larger than this is refused.
const MAX_BYTES: usize = 256 * 1024;

#[derive(Default)]
struct Cached {
    keys: HashMap<String, Jwk>,
    fetched_at: Option<SystemTime>,
    last_try: Option<SystemTime>,
}

/// Keys from one JWKS URL.
pub(crate) struct JwksCache {
    url: String,
    http: reqwest::Client,
    clock: Clock,
    cached: Mutex<Cached>,
}

fn elapsed(since: Option<SystemTime>, now: SystemTime) -> Option<Duration> {
    since.map(|t| now.duration_since(t).unwrap_or(Duration::ZERO))
}

impl JwksCache {
    /// Nothing is fetched until the first token needs a key.
    pub(crate) fn new(url: String, clock: Clock) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()?;
        Ok(Self {
            url,
            http,
            clock,
            cached: Mutex::default(),
        })
    }

    /// The key `kid` for a token signed with `alg`; the key's own algorithm
    /// and type must agree with `alg`.
    pub(crate) async fn key_for(&self, kid: &str, alg: Algorithm) -> Result<DecodingKey, ApiError> {
        let mut c = self.cached.lock().await;
        let now = (self.clock)();
        let stale = elapsed(c.fetched_at, now).is_none_or(|age| age >= MAX_AGE);
        let may_fetch = elapsed(c.last_try, now).is_none_or(|d| d >= MIN_REFETCH);
        if (stale || !c.keys.contains_key(kid)) && may_fetch {
            c.last_try = Some(now);
            match self.fetch().await {
                Ok(keys) => {
                    c.keys = keys;
                    c.fetched_at = Some(now);
                }
                Err(e) => {
                    tracing::warn!(url = %self.url, error = %e, "JWKS fetch failed; keeping the keys held")
                }
            }
        }
        let jwk = c
            .keys
            .get(kid)
            .ok_or_else(|| bad("the token's key (kid) is unknown"))?;
        usable(jwk, alg)?;
        DecodingKey::from_jwk(jwk).map_err(|_| bad("the token's key cannot be used"))
    }

    async fn fetch(&self) -> Result<HashMap<String, Jwk>, String> {
        let res = self
            .http
            .get(&self.url)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !res.status().is_success() {
            return Err(format!("status {}", res.status()));
        }
        if res.content_length().is_some_and(|n| n as usize > MAX_BYTES) {
            return Err("document too large".into());
        }
        let body = res.bytes().await.map_err(|e| e.to_string())?;
        if body.len() > MAX_BYTES {
            return Err("document too large".into());
        }
        let doc: serde_json::Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
        let list = doc
            .get("keys")
            .and_then(|k| k.as_array())
            .ok_or("no keys array")?;
        // Keys of kinds we do not use (encryption keys, unknown types) are skipped,
        // not fatal: Keycloak publishes RSA-OAEP keys next to the signing ones.
        Ok(list
            .iter()
            .filter_map(|k| serde_json::from_value::<Jwk>(k.clone()).ok())
            .filter(|k| !matches!(k.common.public_key_use, Some(PublicKeyUse::Encryption)))
            .filter_map(|k| Some((k.common.key_id.clone()?, k)))
            .collect())
    }
}

/// Refuses a key whose declared algorithm or type differs from the token's.
fn usable(jwk: &Jwk, alg: Algorithm) -> Result<(), ApiError> {
    if let Some(declared) = jwk.common.key_algorithm
        && format!("{declared:?}") != format!("{alg:?}")
    {
        return Err(bad("the token's algorithm differs from its key's"));
    }
    let fits = match (&jwk.algorithm, alg) {
        (AlgorithmParameters::RSA(_), Algorithm::RS256) => true,
        (AlgorithmParameters::EllipticCurve(ec), Algorithm::ES256) => {
            ec.curve == EllipticCurve::P256
        }
        _ => false,
    };
    if fits {
        Ok(())
    } else {
        Err(bad("the token's algorithm does not fit its key"))
    }
}
