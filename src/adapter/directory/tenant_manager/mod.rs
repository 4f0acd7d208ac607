//! [`TenantDirectory`] over the platform's tenant-manager (HTTP, JSON).
//!
//! A DID is asked of each configured tenant
//! (`GET {url}/api/v1/tenants/{tenant}/telephony/dids/{did}`, 404: not
//! theirs); the first that knows it owns the call, and its settings
//! (`GET {url}/api/v1/tenants/{tenant}/telephony/settings`: providers,
//! language, limits) complete the route. Both answers are cached (see
//! [`cache`]). When the tenant-manager fails or answers nonsense, a DID
//! seen before keeps its last route (stale-while-error) and a DID never
//! seen is unknown: the caller gets the unknown-DID path, not an error.

mod cache;
pub mod wire;

use crate::{
    adapter::config::{Secret, TenantManagerSection},
    application::ports::{
        Cause,
        directory::{DirectoryError, Route, TenantDirectory},
        orchestrator::BoxFuture,
    },
    domain::{AgentId, Did, TenantId},
};
use cache::{Cache, Hit, Ttls};
use futures_util::future::join_all;
use reqwest::{StatusCode, Url, header};
use std::sync::{Arc, Mutex};
use tokio::time::Instant;
use wire::{Settings, WireError};

/// Why the tenant-manager could not answer.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// No connection, a timeout, or a body cut short.
    #[error("tenant-manager unreachable: {0}")]
    Transport(String),
    /// An answer other than 200 (or 404 for a DID).
    #[error("tenant-manager answered {status} to {what}")]
    Status {
        /// The HTTP status.
        status: StatusCode,
        /// Which request (`settings of acme`).
        what: String,
    },
    /// Not asked: it failed less than `cool_down` ago.
    #[error("tenant-manager not asked: it failed less than tenant_manager.cool_down ago")]
    CoolingDown,
    /// A 200 whose body is not the contract's.
    #[error("tenant-manager's {what} refused: {error}")]
    Invalid {
        /// Which answer.
        what: String,
        /// What is wrong with it.
        error: WireError,
    },
}

/// Why the adapter could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The URL or a tenant id is unusable (check-config catches it first).
    #[error("tenant_manager: {0}")]
    Config(String),
    /// The HTTP stack refused the settings.
    #[error("tenant_manager HTTP client: {0}")]
    Http(String),
}

/// The tenant-manager directory. Cheap to clone.
#[derive(Debug, Clone)]
pub struct TenantManagerDirectory {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    base: Url,
    token: Option<Secret>,
    tenants: Vec<TenantId>,
    cool_down: std::time::Duration,
    /// Set by a failure (unreachable, timeout, 5xx) for `cool_down`.
    down_until: Mutex<Option<Instant>>,
    routes: Mutex<Cache<Did, Route>>,
    settings: Mutex<Cache<TenantId, Settings>>,
}

impl TenantManagerDirectory {
    /// Builds the client from `[tenant_manager]` (its `url` must be set).
    pub fn new(cfg: &TenantManagerSection) -> Result<Self, BuildError> {
        let url = cfg
            .url
            .as_deref()
            .ok_or_else(|| BuildError::Config("url is unset".into()))?;
        let base = Url::parse(url).map_err(|e| BuildError::Config(format!("url: {e}")))?;
        let tenants = cfg
            .tenants
            .iter()
            .map(|t| TenantId::parse(t.as_str()).map_err(|e| BuildError::Config(e.to_string())))
            .collect::<Result<_, _>>()?;
        let http = reqwest::Client::builder()
            .timeout(cfg.timeout.0)
            .build()
            .map_err(|e| BuildError::Http(e.to_string()))?;
        let ttls = Ttls {
            ttl: cfg.cache_ttl.0,
            negative_ttl: cfg.negative_ttl.0,
            stale_for: cfg.stale_for.0,
        };
        let max = cfg.cache_max_entries as usize;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                base,
                token: cfg.token.clone(),
                tenants,
                cool_down: cfg.cool_down.0,
                down_until: Mutex::new(None),
                routes: Mutex::new(Cache::new(ttls, max)),
                settings: Mutex::new(Cache::new(ttls, max)),
            }),
        })
    }

    /// The route of `did`: from the cache while fresh, else asked; a
    /// failure falls back to the stale route, else "unknown".
    pub async fn route(&self, did: &Did) -> Option<Route> {
        let cached = self
            .inner
            .routes
            .lock()
            .expect("cache lock")
            .get(did, Instant::now());
        let stale = match cached {
            Hit::Fresh(r) => return r,
            Hit::Stale(r) => Some(r),
            Hit::Miss => None,
        };
        match self.inner.resolve(did).await {
            Ok(found) => {
                let mut routes = self.inner.routes.lock().expect("cache lock");
                routes.put(did.clone(), found.clone(), Instant::now());
                found
            }
            Err(e) if stale.is_some() => {
                tracing::warn!(error = %e, did = %did.redacted(), "tenant-manager failed: the DID keeps its last route");
                stale
            }
            Err(e) => {
                tracing::warn!(error = %e, did = %did.redacted(), "tenant-manager failed: a DID never seen is unknown");
                None
            }
        }
    }

    /// `tenant`'s settings, cached like routes.
    pub async fn settings(&self, tenant: &TenantId) -> Result<Settings, FetchError> {
        self.inner.settings(tenant).await
    }
}

impl Inner {
    /// Asks every tenant at once; the first in configuration order that
    /// knows the DID wins. Unknown only when every tenant said 404.
    async fn resolve(&self, did: &Did) -> Result<Option<Route>, FetchError> {
        let answers = join_all(self.tenants.iter().map(|t| self.did(t, did))).await;
        let mut failure = None;
        for (tenant, answer) in self.tenants.iter().zip(answers) {
            match answer {
                Ok(Some(found)) => {
                    let settings = self.settings(tenant).await?;
                    return Ok(Some(wire::route(tenant, found, &settings)));
                }
                Ok(None) => {}
                Err(e) => failure = failure.or(Some(e)),
            }
        }
        failure.map_or(Ok(None), Err)
    }

    async fn did(
        &self,
        tenant: &TenantId,
        did: &Did,
    ) -> Result<Option<wire::DidAnswer>, FetchError> {
        let what = format!("DID {} of {tenant}", did.redacted());
        let url = self.url(tenant, &["dids", did.as_str()]);
        let Some(body) = self.get(url, &what, true).await? else {
            return Ok(None);
        };
        wire::parse_did(tenant, did, &body)
            .map(Some)
            .map_err(|error| FetchError::Invalid { what, error })
    }

    async fn settings(&self, tenant: &TenantId) -> Result<Settings, FetchError> {
        let cached = self
            .settings
            .lock()
            .expect("cache lock")
            .get(tenant, Instant::now());
        let stale = match cached {
            Hit::Fresh(Some(s)) => return Ok(s),
            Hit::Stale(s) => Some(s),
            Hit::Fresh(None) | Hit::Miss => None,
        };
        let what = format!("settings of {tenant}");
        let fetched = match self
            .get(self.url(tenant, &["settings"]), &what, false)
            .await
        {
            Ok(body) => wire::parse_settings(tenant, &body.unwrap_or_default())
                .map_err(|error| FetchError::Invalid { what, error }),
            Err(e) => Err(e),
        };
        match (fetched, stale) {
            (Ok(s), _) => {
                let mut cache = self.settings.lock().expect("cache lock");
                cache.put(tenant.clone(), Some(s.clone()), Instant::now());
                Ok(s)
            }
            (Err(e), Some(s)) => {
                tracing::warn!(error = %e, %tenant, "tenant-manager failed: the tenant keeps its last settings");
                Ok(s)
            }
            (Err(e), None) => Err(e),
        }
    }

    /// `{base}/api/v1/tenants/{tenant}/telephony/{tail…}`, each part one
    /// percent-encoded path segment.
    fn url(&self, tenant: &TenantId, tail: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty()
                .extend(["api", "v1", "tenants", tenant.as_str(), "telephony"])
                .extend(tail);
        }
        url
    }

    /// GETs `url`: the body of a 200, `None` for a 404 when `absent_ok`.
    /// Not asked at all while cooling down after a failure: a hanging
    /// tenant-manager must not add its timeout to every call's setup.
    async fn get(
        &self,
        url: Url,
        what: &str,
        absent_ok: bool,
    ) -> Result<Option<Vec<u8>>, FetchError> {
        let now = Instant::now();
        if self
            .down_until
            .lock()
            .expect("breaker lock")
            .is_some_and(|t| now < t)
        {
            return Err(FetchError::CoolingDown);
        }
        let result = self.send(url, what, absent_ok).await;
        let failed = match &result {
            Err(FetchError::Transport(_)) => true,
            Err(FetchError::Status { status, .. }) => status.is_server_error(),
            _ => false,
        };
        let until = failed.then(|| Instant::now() + self.cool_down);
        *self.down_until.lock().expect("breaker lock") = until;
        result
    }

    async fn send(
        &self,
        url: Url,
        what: &str,
        absent_ok: bool,
    ) -> Result<Option<Vec<u8>>, FetchError> {
        // A span of its own, and `traceparent` in the call's trace when traces are on.
        let request = self.http.get(url).headers(self.headers());
        let response = crate::adapter::telemetry::propagate::send("tenant_manager", what, request)
            .await
            .map_err(|e| FetchError::Transport(without_url(e)))?;
        match response.status() {
            StatusCode::OK => {}
            StatusCode::NOT_FOUND if absent_ok => return Ok(None),
            status => {
                return Err(FetchError::Status {
                    status,
                    what: what.to_owned(),
                });
            }
        }
        read_bounded(response).await.map(Some)
    }

    /// Every outgoing request's headers, built here only: the place to add
    /// the W3C `traceparent` of the current span once tracing exports.
    fn headers(&self) -> header::HeaderMap {
        let mut h = header::HeaderMap::new();
        h.insert(
            header::ACCEPT,
            header::HeaderValue::from_static("application/json"),
        );
        if let Some(token) = &self.token
            && let Ok(mut v) = header::HeaderValue::from_str(&format!("Bearer {}", token.expose()))
        {
            v.set_sensitive(true);
            h.insert(header::AUTHORIZATION, v);
        }
        h
    }
}

/// The body, refused past [`wire::MAX_BODY`].
async fn read_bounded(mut response: reqwest::Response) -> Result<Vec<u8>, FetchError> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| FetchError::Transport(without_url(e)))?
    {
        if body.len() + chunk.len() > wire::MAX_BODY {
            return Err(FetchError::Transport(format!(
                "answer longer than {} bytes",
                wire::MAX_BODY
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// reqwest's message without the URL (it names the DID: a phone number).
fn without_url(e: reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    let source = std::error::Error::source(&e)
        .map(ToString::to_string)
        .unwrap_or_default();
    format!("{kind}: {source}")
}

fn unavailable(e: FetchError) -> DirectoryError {
    DirectoryError::Unavailable(Cause::msg(e.to_string()))
}

impl TenantDirectory for TenantManagerDirectory {
    fn lookup<'a>(&'a self, did: &'a Did) -> BoxFuture<'a, Result<Option<Route>, DirectoryError>> {
        Box::pin(async move { Ok(self.route(did).await) })
    }

    fn owner<'a>(
        &'a self,
        did: &'a Did,
    ) -> BoxFuture<'a, Result<Option<TenantId>, DirectoryError>> {
        Box::pin(async move { Ok(self.route(did).await.map(|r| r.tenant)) })
    }

    /// A tenant's agent is its settings' `default_agent_id`, if any.
    fn agents<'a>(
        &'a self,
        tenant: &'a TenantId,
    ) -> BoxFuture<'a, Result<Vec<AgentId>, DirectoryError>> {
        Box::pin(async move {
            if !self.inner.tenants.contains(tenant) {
                return Ok(Vec::new());
            }
            let s = self.inner.settings(tenant).await.map_err(unavailable)?;
            Ok(s.default_agent.into_iter().collect())
        })
    }
}
