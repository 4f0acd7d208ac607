//! Per-tenant originate limits: live calls placed through this API, and the
//! originate rate.
//!
//! Live calls are tracked here, not counted through `CallControl::list`: the
//! port has no "ended" feed and listing would take one paged request per live
//! state per originate. So each tenant's set of call ids placed through the
//! API is kept, and only when it reaches the limit is each one re-read with
//! `get` (ended or gone → forgotten). The fast path costs no port call; the
//! limit path costs at most `max_concurrent_calls` reads. The count is per
//! gateway instance: each keeps the ids it placed, even with a shared store.

use super::{bucket::TokenBucket, config::LimitsConfig, problem::ApiError};
use crate::domain::{CallId, TenantId};
use std::{
    collections::{HashMap, HashSet},
    sync::Mutex,
    time::SystemTime,
};

/// Retry-After when a tenant is at its live-call limit: calls last minutes,
/// so a short wait is a guess, but better than a client spinning.
const CONCURRENCY_RETRY_AFTER: u64 = 5;

#[derive(Default)]
struct Tenant {
    live: HashSet<CallId>,
    /// Originates in flight: counted so two racing requests cannot both take the last slot.
    reserved: u32,
    bucket: Option<TokenBucket>,
}

/// Limit state for every tenant.
pub(crate) struct Limits {
    cfg: LimitsConfig,
    tenants: Mutex<HashMap<TenantId, Tenant>>,
}

/// A held slot; released on drop unless [`Slot::confirm`]ed, so a cancelled
/// or failed originate gives its slot back.
pub(crate) struct Slot<'a> {
    limits: &'a Limits,
    tenant: TenantId,
    held: bool,
}

impl Slot<'_> {
    /// The originate succeeded: the slot becomes the live call `id`.
    pub(crate) fn confirm(mut self, id: CallId) {
        let mut m = self.limits.lock();
        let t = m.entry(self.tenant.clone()).or_default();
        t.reserved = t.reserved.saturating_sub(1);
        t.live.insert(id);
        self.held = false;
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        if self.held {
            let mut m = self.limits.lock();
            if let Some(t) = m.get_mut(&self.tenant) {
                t.reserved = t.reserved.saturating_sub(1);
            }
        }
    }
}

impl Limits {
    pub(crate) fn new(cfg: LimitsConfig) -> Self {
        Self {
            cfg,
            tenants: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<TenantId, Tenant>> {
        // A poisoned map still holds valid counters; keep serving.
        self.tenants.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The tenant's tracked live calls when it is at its limit (to re-check), else none.
    pub(crate) fn to_recheck(&self, tenant: &TenantId) -> Vec<CallId> {
        let max = self.cfg.for_tenant(tenant.as_str()).max_concurrent_calls;
        let m = self.lock();
        match m.get(tenant) {
            Some(t) if t.live.len() as u32 + t.reserved >= max => t.live.iter().cloned().collect(),
            _ => Vec::new(),
        }
    }

    /// Stops counting a call that ended.
    pub(crate) fn forget(&self, tenant: &TenantId, id: &CallId) {
        if let Some(t) = self.lock().get_mut(tenant) {
            t.live.remove(id);
        }
    }

    /// Checks both limits at `now` and holds a slot; a refused rate check takes no slot.
    pub(crate) fn acquire(&self, tenant: &TenantId, now: SystemTime) -> Result<Slot<'_>, ApiError> {
        let lim = self.cfg.for_tenant(tenant.as_str());
        let mut m = self.lock();
        let t = m.entry(tenant.clone()).or_default();
        if t.live.len() as u32 + t.reserved >= lim.max_concurrent_calls {
            return Err(ApiError::TooManyCalls {
                limit: lim.max_concurrent_calls,
                retry_after: CONCURRENCY_RETRY_AFTER,
            });
        }
        let bucket = t
            .bucket
            .get_or_insert_with(|| TokenBucket::new(lim.originate_per_minute, lim.burst, now));
        bucket.take(now).map_err(|wait| ApiError::RateLimited {
            retry_after: (wait.as_secs_f64().ceil() as u64).max(1),
        })?;
        t.reserved += 1;
        Ok(Slot {
            limits: self,
            tenant: tenant.clone(),
            held: true,
        })
    }
}
