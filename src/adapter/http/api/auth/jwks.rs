//! The identity provider's signing keys, fetched from its JWKS URL and cached.
//!
//! A token whose `kid` is held is checked at once, whatever is going on:
//! no request ever waits behind a fetch it does not need. A token naming an
//! unknown `kid` triggers a refetch (key rotation), at most one per
//! [`MIN_REFETCH`] and one at a time: a flood of made-up kids costs the IdP
//! one request per interval, and while a fetch runs the tokens that need it
//! wait for its result (bounded by the client's timeout), not for a lock.
//! The fetch runs on its own task, so a request given up half-way (client
//! gone) cannot leave the cache believing a fetch is still running.
//! Stale keys (older than [`MAX_AGE`]) keep serving while a refresh runs
//! beside them.

use super::bad;
use crate::adapter::http::api::{Clock, problem::ApiError};
use jsonwebtoken::{
    Algorithm, DecodingKey,
    jwk::{AlgorithmParameters, EllipticCurve, Jwk, PublicKeyUse},
};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, SystemTime},
};
use tokio::sync::watch;

/// Least time between two fetches, whatever tokens arrive.
pub(crate) const MIN_REFETCH: Duration = Duration::from_secs(10);
/// Keys older than this are refetched (beside the requests that use them).
const MAX_AGE: Duration = Duration::from_secs(600);
/// A JWKS document larger than this is refused.
const MAX_BYTES: usize = 256 * 1024;
/// The longest one fetch may take; a token waiting for it waits no longer.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Default)]
struct Cached {
    keys: Arc<HashMap<String, Jwk>>,
    fetched_at: Option<SystemTime>,
    last_try: Option<SystemTime>,
    fetching: bool,
}

/// Keys from one JWKS URL.
pub(crate) struct JwksCache {
    inner: Arc<Inner>,
}

struct Inner {
    url: String,
    http: reqwest::Client,
    clock: Clock,
    /// Held only to read or swap fields, never across an await.
    cached: Mutex<Cached>,
    /// Bumped when a fetch ends (whatever its result).
    done: watch::Sender<u64>,
}

fn elapsed(since: Option<SystemTime>, now: SystemTime) -> Option<Duration> {
    since.map(|t| now.duration_since(t).unwrap_or(Duration::ZERO))
}

/// Why a JWKS URL is refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum JwksUrlError {
    /// Not `https://` (nor `http://` with the insecure flag).
    #[error("{0:?} is not an https:// URL")]
    NotHttps(String),
    /// The HTTP client could not be built.
    #[error("cannot build the JWKS client: {0}")]
    Client(#[from] reqwest::Error),
}

impl JwksCache {
    /// Nothing is fetched until the first token needs a key. Only `https://`:
    /// keys fetched in clear could be swapped by anyone on the path, who
    /// could then sign any token. `allow_http` is for tests on loopback.
    pub(crate) fn new(url: String, allow_http: bool, clock: Clock) -> Result<Self, JwksUrlError> {
        let https = url.starts_with("https://");
        if !(https || allow_http && url.starts_with("http://")) {
            return Err(JwksUrlError::NotHttps(url));
        }
        let http = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .https_only(!allow_http)
            .build()?;
        Ok(Self {
            inner: Arc::new(Inner {
                url,
                http,
                clock,
                cached: Mutex::default(),
                done: watch::Sender::new(0),
            }),
        })
    }

    /// The key `kid` for a token signed with `alg`; the key's own algorithm
    /// and type must agree with `alg`.
    pub(crate) async fn key_for(&self, kid: &str, alg: Algorithm) -> Result<DecodingKey, ApiError> {
        let now = (self.inner.clock)();
        let (held, wait) = {
            let mut c = self.inner.lock();
            let held = c.keys.get(kid).cloned();
            let stale = elapsed(c.fetched_at, now).is_none_or(|age| age >= MAX_AGE);
            let may_start =
                !c.fetching && elapsed(c.last_try, now).is_none_or(|d| d >= MIN_REFETCH);
            if (stale || held.is_none()) && may_start {
                c.fetching = true;
                c.last_try = Some(now);
                tokio::spawn(self.inner.clone().refresh(now));
            }
            // Subscribed under the lock: a fetch cannot end unseen in between.
            let wait = (held.is_none() && c.fetching).then(|| self.inner.done.subscribe());
            (held, wait)
        };
        let jwk = match (held, wait) {
            (Some(jwk), _) => jwk,
            (None, Some(mut done)) => {
                let _ = tokio::time::timeout(FETCH_TIMEOUT, done.changed()).await;
                self.inner
                    .lock()
                    .keys
                    .get(kid)
                    .cloned()
                    .ok_or_else(|| bad("the token's key (kid) is unknown"))?
            }
            (None, None) => return Err(bad("the token's key (kid) is unknown")),
        };
        usable(&jwk, alg)?;
        DecodingKey::from_jwk(&jwk).map_err(|_| bad("the token's key cannot be used"))
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, Cached> {
        // Plain fields set in one step: a panic elsewhere leaves them whole.
        self.cached.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn refresh(self: Arc<Self>, started: SystemTime) {
        let result = self.fetch().await;
        {
            let mut c = self.lock();
            match result {
                Ok(keys) => {
                    c.keys = Arc::new(keys);
                    c.fetched_at = Some(started);
                }
                Err(e) => {
                    tracing::warn!(url = %self.url, error = %e, "JWKS fetch failed; keeping the keys held")
                }
            }
            c.fetching = false;
        }
        self.done.send_modify(|n| *n += 1);
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
