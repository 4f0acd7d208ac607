//! `Idempotency-Key` for `POST /v1/calls`: the same key and tenant within
//! [`RETENTION`] returns the first call instead of dialling twice.
//!
//! The store is a small trait, so several instances can share one (Redis,
//! `adapter::store::RedisIdempotency`) in place of [`MemoryIdempotency`],
//! which is bounded and expiring.

use super::{dto::CallView, problem::ApiError};
use crate::{application::ports::orchestrator::BoxFuture, domain::TenantId};
use axum::http::HeaderMap;
use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, SystemTime},
};

/// How long a key is remembered.
pub const RETENTION: Duration = Duration::from_secs(24 * 3600);
/// An in-flight claim older than this is taken over: its request died
/// without completing or abandoning (e.g. the process was cancelled).
pub const IN_FLIGHT_TTL: Duration = Duration::from_secs(60);

/// What a store says about a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begin {
    /// Not seen: the caller now holds it and must `complete` or `abandon`.
    Fresh,
    /// Seen with the same request: here is the first call.
    Replay(Box<CallView>),
    /// Seen with a different request.
    Mismatch,
    /// The first request with this key is still running.
    InProgress,
}

/// Where keys are remembered.
pub trait IdempotencyStore: Send + Sync {
    /// Claims `key` for a request with `fingerprint`, or reports what it holds.
    fn begin<'a>(
        &'a self,
        tenant: &'a TenantId,
        key: &'a str,
        fingerprint: u64,
        now: SystemTime,
    ) -> BoxFuture<'a, Begin>;
    /// Records the call the claimed key produced.
    fn complete<'a>(
        &'a self,
        tenant: &'a TenantId,
        key: &'a str,
        call: CallView,
        now: SystemTime,
    ) -> BoxFuture<'a, ()>;
    /// Releases a claim whose request failed, so a retry may dial.
    fn abandon<'a>(&'a self, tenant: &'a TenantId, key: &'a str) -> BoxFuture<'a, ()>;
}

/// The `Idempotency-Key` header: absent, or 1-255 printable ASCII characters.
pub(crate) fn key_from(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(v) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let s = v.to_str().unwrap_or("");
    if s.is_empty() || s.len() > 255 || !s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err(ApiError::invalid(
            "invalid-idempotency-key",
            "Idempotency-Key",
            "Idempotency-Key must be 1 to 255 printable ASCII characters",
        ));
    }
    Ok(Some(s.to_owned()))
}

#[derive(Debug, Clone)]
enum Held {
    InFlight,
    Done(Box<CallView>),
}

#[derive(Debug, Clone)]
struct Entry {
    fingerprint: u64,
    held: Held,
    at: SystemTime,
}

/// In-process store holding at most `capacity` keys.
pub struct MemoryIdempotency {
    capacity: usize,
    map: Mutex<HashMap<(TenantId, String), Entry>>,
}

impl MemoryIdempotency {
    /// An empty store.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            map: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(TenantId, String), Entry>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn age(at: SystemTime, now: SystemTime) -> Duration {
    now.duration_since(at).unwrap_or(Duration::ZERO)
}

impl IdempotencyStore for MemoryIdempotency {
    fn begin<'a>(
        &'a self,
        tenant: &'a TenantId,
        key: &'a str,
        fingerprint: u64,
        now: SystemTime,
    ) -> BoxFuture<'a, Begin> {
        Box::pin(async move {
            let mut m = self.lock();
            let id = (tenant.clone(), key.to_owned());
            if let Some(e) = m.get(&id) {
                let live = match e.held {
                    Held::InFlight => age(e.at, now) < IN_FLIGHT_TTL,
                    Held::Done(_) => age(e.at, now) < RETENTION,
                };
                if live {
                    return match (&e.held, e.fingerprint == fingerprint) {
                        (_, false) => Begin::Mismatch,
                        (Held::InFlight, true) => Begin::InProgress,
                        (Held::Done(c), true) => Begin::Replay(c.clone()),
                    };
                }
            }
            if m.len() >= self.capacity && !m.contains_key(&id) {
                m.retain(|_, e| age(e.at, now) < RETENTION);
                // Still full: forget the oldest key. Memory stays bounded; the
                // cost is that a very old key may dial again, never a new one.
                if m.len() >= self.capacity
                    && let Some(oldest) = m.iter().min_by_key(|(_, e)| e.at).map(|(k, _)| k.clone())
                {
                    m.remove(&oldest);
                }
            }
            m.insert(
                id,
                Entry {
                    fingerprint,
                    held: Held::InFlight,
                    at: now,
                },
            );
            Begin::Fresh
        })
    }

    fn complete<'a>(
        &'a self,
        tenant: &'a TenantId,
        key: &'a str,
        call: CallView,
        now: SystemTime,
    ) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            if let Some(e) = self.lock().get_mut(&(tenant.clone(), key.to_owned())) {
                e.held = Held::Done(Box::new(call));
                e.at = now;
            }
        })
    }

    fn abandon<'a>(&'a self, tenant: &'a TenantId, key: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            self.lock().remove(&(tenant.clone(), key.to_owned()));
        })
    }
}
