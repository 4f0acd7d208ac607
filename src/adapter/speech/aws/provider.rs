//! The credentials both adapters sign with, shared: a fixed set (the
//! configuration, the environment, a profile), or the instance role's,
//! fetched at the first stream or synthesis opened and fetched again when
//! within [`REFRESH_BEFORE`] of their `Expiration`. The refresh is awaited
//! where a stream opens, never per audio event; signing reads the current
//! set under a lock held only to clone it.

use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use super::credentials::Credentials;
use super::imds::{Expiring, Imds};

/// How long before `Expiration` the instance role's set is replaced.
pub const REFRESH_BEFORE: Duration = Duration::from_secs(300);
/// After a failed refresh of a set still valid, how long opens use it
/// without asking the service again (each ask may wait for its timeouts).
pub const RETRY_AFTER: Duration = Duration::from_secs(30);

/// Credentials shared by every adapter built from one `[speech.aws]`.
#[derive(Clone)]
pub struct SharedCredentials {
    inner: Arc<Inner>,
}

struct Inner {
    current: RwLock<Option<Expiring>>,
    source: Option<Imds>,
    /// The refresh in progress; holds when the last one failed.
    refreshing: tokio::sync::Mutex<Option<SystemTime>>,
}

impl SharedCredentials {
    /// A set that does not expire.
    pub fn fixed(credentials: Credentials) -> Self {
        Self::with(
            Some(Expiring {
                credentials,
                expires: None,
            }),
            None,
        )
    }

    /// The instance role's, from `imds`, none fetched yet.
    pub fn instance_role(imds: Imds) -> Self {
        Self::with(None, Some(imds))
    }

    fn with(current: Option<Expiring>, source: Option<Imds>) -> Self {
        Self {
            inner: Arc::new(Inner {
                current: RwLock::new(current),
                source,
                refreshing: tokio::sync::Mutex::new(None),
            }),
        }
    }

    /// Whether the set comes from the instance role.
    pub fn is_instance_role(&self) -> bool {
        self.inner.source.is_some()
    }

    /// The current set (`None` before the instance role's first fetch).
    pub fn current(&self) -> Option<Credentials> {
        let guard = self.inner.current.read().unwrap_or_else(|p| p.into_inner());
        guard.as_ref().map(|e| e.credentials.clone())
    }

    /// Makes sure the set is good at `now` (and for [`REFRESH_BEFORE`]
    /// longer), fetching the instance role's anew if not; one fetch at a
    /// time. A failed refresh of a set not yet expired keeps it, without
    /// asking again for [`RETRY_AFTER`].
    pub async fn fresh(&self, now: SystemTime) -> Result<Credentials, String> {
        let Some(imds) = &self.inner.source else {
            return self.current().ok_or_else(|| "no credentials".into());
        };
        if let Some(c) = self.good(now) {
            return Ok(c);
        }
        let mut failed = self.inner.refreshing.lock().await;
        if let Some(c) = self.good(now) {
            return Ok(c);
        }
        let recent = failed.is_some_and(|t| now < t + RETRY_AFTER);
        if let Some(c) = self.unexpired(now).filter(|_| recent) {
            return Ok(c);
        }
        let fetched = imds.fetch().await;
        *failed = fetched.as_ref().err().map(|_| now);
        match fetched {
            Ok(e) => {
                let c = e.credentials.clone();
                *self
                    .inner
                    .current
                    .write()
                    .unwrap_or_else(|p| p.into_inner()) = Some(e);
                Ok(c)
            }
            Err(e) => match self.unexpired(now) {
                Some(c) => {
                    tracing::warn!(error = %e, "speech.aws: refreshing the instance role's credentials failed; the current ones are still valid");
                    Ok(c)
                }
                None => Err(format!("speech.aws: no credentials: {e}")),
            },
        }
    }

    /// The set when it stays valid past `now + REFRESH_BEFORE`.
    fn good(&self, now: SystemTime) -> Option<Credentials> {
        self.valid_at(now + REFRESH_BEFORE)
    }

    fn unexpired(&self, now: SystemTime) -> Option<Credentials> {
        self.valid_at(now)
    }

    fn valid_at(&self, at: SystemTime) -> Option<Credentials> {
        let guard = self.inner.current.read().unwrap_or_else(|p| p.into_inner());
        let e = guard.as_ref()?;
        match e.expires {
            Some(t) if t <= at => None,
            _ => Some(e.credentials.clone()),
        }
    }
}

impl From<Credentials> for SharedCredentials {
    fn from(c: Credentials) -> Self {
        Self::fixed(c)
    }
}

impl std::fmt::Debug for SharedCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let guard = self.inner.current.read().unwrap_or_else(|p| p.into_inner());
        f.debug_struct("SharedCredentials")
            .field("current", &*guard)
            .field(
                "instance_role",
                &self.inner.source.as_ref().map(|s| &s.endpoint),
            )
            .finish()
    }
}

/// Equal when they are the same shared set, or two fixed sets alike.
impl PartialEq for SharedCredentials {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
            || (!self.is_instance_role()
                && !other.is_instance_role()
                && self.current() == other.current())
    }
}

impl Eq for SharedCredentials {}
