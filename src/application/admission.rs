//! Call admission: whether new calls are taken, and how many are live.
//!
//! Every call holds a [`CallPermit`] for its whole life; dropping it (on any
//! path, including a panic in the call's task) counts the call as ended. A
//! drain stops new admissions and lets the shutdown wait for the count to
//! reach zero.
//!
//! The instance cap counts inbound and outbound calls alike: past it a new
//! call is refused before anything is spent on it (no answer, no
//! conversation, no speech stream, no media port). A tenant's share is
//! checked once the tenant is known (inbound: after the DID lookup), on the
//! same permit, so a tenant's flood cannot take the whole instance.

use crate::domain::TenantId;
use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
};
use tokio::sync::watch;

/// Why a new call was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AdmissionError {
    /// The instance is shutting down.
    #[error("the gateway is draining and takes no new calls")]
    Draining,
    /// The instance holds `limits.max_live_calls` calls already.
    #[error("the gateway is at its limit of {limit} live calls")]
    InstanceFull {
        /// The cap.
        limit: usize,
    },
    /// The tenant holds its share of live calls already.
    #[error("the tenant is at its limit of {limit} live calls")]
    TenantFull {
        /// The tenant's share.
        limit: usize,
    },
}

impl AdmissionError {
    /// The `reason` label of `voicegw_admission_refused_total`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Draining => "draining",
            Self::InstanceFull { .. } => "instance_cap",
            Self::TenantFull { .. } => "tenant_cap",
        }
    }

    fn index(self) -> usize {
        match self {
            Self::Draining => 0,
            Self::InstanceFull { .. } => 1,
            Self::TenantFull { .. } => 2,
        }
    }
}

/// The caps, from `[limits]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdmissionLimits {
    /// Live calls (inbound and outbound) the instance takes at most.
    pub max_live_calls: usize,
    /// At this many live calls `/readyz` says "no more" (load balancers
    /// stop sending) while calls are still admitted up to the cap.
    pub high_water: usize,
    /// Per-tenant shares of the instance; a tenant not listed has only the
    /// instance cap.
    pub tenant_max: HashMap<TenantId, usize>,
}

impl Default for AdmissionLimits {
    /// No cap: for tests and tools that build a gateway by hand.
    fn default() -> Self {
        Self {
            max_live_calls: usize::MAX,
            high_water: usize::MAX,
            tenant_max: HashMap::new(),
        }
    }
}

/// Gate for new calls plus the live-call count.
#[derive(Debug)]
pub struct CallAdmission {
    accepting: AtomicBool,
    live: watch::Sender<usize>,
    limits: AdmissionLimits,
    tenancy: Arc<Tenancy>,
}

/// The tenants' shares: permits hold it, so a call can claim its tenant's
/// share once the tenant is known, far from the gate.
#[derive(Debug, Default)]
struct Tenancy {
    max: HashMap<TenantId, usize>,
    live: Mutex<HashMap<TenantId, usize>>,
    /// Refusals by [`AdmissionError::index`].
    refused: [AtomicU64; 3],
}

impl Tenancy {
    fn count(&self, e: AdmissionError) -> AdmissionError {
        self.refused[e.index()].fetch_add(1, Ordering::Relaxed);
        e
    }
}

impl Default for CallAdmission {
    fn default() -> Self {
        Self::new(AdmissionLimits::default())
    }
}

/// Proof that a call was admitted; the call counts as live until it is dropped.
#[derive(Debug)]
#[must_use = "the call counts as ended as soon as the permit is dropped"]
pub struct CallPermit {
    live: watch::Sender<usize>,
    tenancy: Arc<Tenancy>,
    tenant: Option<TenantId>,
}

impl CallPermit {
    /// Counts the call against its tenant's share; refused when the tenant
    /// is full (the permit then still counts for the instance until it is
    /// dropped). Claiming again for the same tenant does nothing.
    pub fn claim_tenant(&mut self, tenant: &TenantId) -> Result<(), AdmissionError> {
        self.claim_tenant_within(tenant, None)
    }

    /// [`Self::claim_tenant`] with the tenant's own limit from its
    /// directory (the tenant-manager's settings): the lower of it and the
    /// configured share applies.
    pub fn claim_tenant_within(
        &mut self,
        tenant: &TenantId,
        directory_limit: Option<u32>,
    ) -> Result<(), AdmissionError> {
        if self.tenant.as_ref() == Some(tenant) {
            return Ok(());
        }
        let configured = self.tenancy.max.get(tenant).copied();
        let Some(limit) = configured
            .into_iter()
            .chain(directory_limit.map(|n| n as usize))
            .min()
        else {
            return Ok(());
        };
        let mut live = self.tenancy.live.lock().expect("admission lock poisoned");
        let n = live.entry(tenant.clone()).or_insert(0);
        if *n >= limit {
            if *n == 0 {
                live.remove(tenant);
            }
            drop(live);
            return Err(self.tenancy.count(AdmissionError::TenantFull { limit }));
        }
        *n += 1;
        drop(live);
        self.release_tenant();
        self.tenant = Some(tenant.clone());
        Ok(())
    }

    fn release_tenant(&mut self) {
        if let Some(tenant) = self.tenant.take() {
            let mut counts = self.tenancy.live.lock().expect("admission lock poisoned");
            if let Some(n) = counts.get_mut(&tenant) {
                *n -= 1;
                if *n == 0 {
                    counts.remove(&tenant);
                }
            }
        }
    }
}

impl Drop for CallPermit {
    fn drop(&mut self) {
        self.release_tenant();
        self.live.send_modify(|n| *n -= 1);
    }
}

impl CallAdmission {
    /// A gate with these caps.
    pub fn new(limits: AdmissionLimits) -> Self {
        Self {
            accepting: AtomicBool::new(true),
            live: watch::Sender::new(0),
            tenancy: Arc::new(Tenancy {
                max: limits.tenant_max.clone(),
                ..Default::default()
            }),
            limits,
        }
    }

    /// Admits a call unless draining or at the instance cap.
    pub fn try_admit(&self) -> Result<CallPermit, AdmissionError> {
        if !self.accepting.load(Ordering::Acquire) {
            return Err(self.tenancy.count(AdmissionError::Draining));
        }
        let limit = self.limits.max_live_calls;
        let mut admitted = false;
        // Check and count in one step: two calls racing for the last slot
        // cannot both get it.
        self.live.send_if_modified(|n| {
            admitted = *n < limit;
            if admitted {
                *n += 1;
            }
            admitted
        });
        if !admitted {
            return Err(self.tenancy.count(AdmissionError::InstanceFull { limit }));
        }
        Ok(CallPermit {
            live: self.live.clone(),
            tenancy: self.tenancy.clone(),
            tenant: None,
        })
    }

    /// Admits a call for a tenant known up front (an API originate).
    pub fn try_admit_for(&self, tenant: &TenantId) -> Result<CallPermit, AdmissionError> {
        let mut permit = self.try_admit()?;
        permit.claim_tenant(tenant)?;
        Ok(permit)
    }

    /// Calls refused so far, by reason label (for `/metrics`).
    pub fn refused(&self) -> [(&'static str, u64); 3] {
        let n = |i: usize| self.tenancy.refused[i].load(Ordering::Relaxed);
        [
            ("draining", n(0)),
            ("instance_cap", n(1)),
            ("tenant_cap", n(2)),
        ]
    }

    /// Stops admitting calls. Live calls go on.
    pub fn begin_drain(&self) {
        self.accepting.store(false, Ordering::Release);
    }

    /// Whether new calls are refused.
    pub fn is_draining(&self) -> bool {
        !self.accepting.load(Ordering::Acquire)
    }

    /// Whether the live calls reached the high-water mark: `/readyz` asks
    /// for no more calls although the cap still admits some.
    pub fn is_saturated(&self) -> bool {
        self.live_calls() >= self.limits.high_water
    }

    /// The caps this gate applies.
    pub fn limits(&self) -> &AdmissionLimits {
        &self.limits
    }

    /// Number of live calls.
    pub fn live_calls(&self) -> usize {
        *self.live.borrow()
    }

    /// Resolves when no call is live.
    pub async fn wait_idle(&self) {
        let mut rx = self.live.subscribe();
        // The sender lives in `self`, so the channel cannot close while we wait.
        let _ = rx.wait_for(|n| *n == 0).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(s: &str) -> TenantId {
        TenantId::parse(s).unwrap()
    }

    #[tokio::test]
    async fn drain_refuses_new_calls_and_waits_for_live_ones() {
        let a = CallAdmission::default();
        let p1 = a.try_admit().unwrap();
        let p2 = a.try_admit().unwrap();
        assert_eq!(a.live_calls(), 2);
        a.begin_drain();
        assert_eq!(a.try_admit().unwrap_err(), AdmissionError::Draining);

        let idle = a.wait_idle();
        tokio::pin!(idle);
        drop(p1);
        assert!(
            futures_util::poll!(&mut idle).is_pending(),
            "one call still live"
        );
        drop(p2);
        idle.await;
        assert_eq!(a.live_calls(), 0);
    }

    #[test]
    fn the_instance_cap_refuses_until_a_call_ends() {
        let a = CallAdmission::new(AdmissionLimits {
            max_live_calls: 2,
            high_water: 1,
            ..Default::default()
        });
        assert!(!a.is_saturated());
        let p1 = a.try_admit().unwrap();
        assert!(a.is_saturated(), "high water reached at one call");
        let _p2 = a.try_admit().unwrap();
        assert_eq!(
            a.try_admit().unwrap_err(),
            AdmissionError::InstanceFull { limit: 2 }
        );
        assert_eq!(a.live_calls(), 2, "a refused call is not counted");
        drop(p1);
        let _p3 = a.try_admit().unwrap();
        assert_eq!(a.refused()[1], ("instance_cap", 1));
    }

    #[test]
    fn a_directory_limit_caps_a_tenant_without_a_configured_share() {
        let a = CallAdmission::new(AdmissionLimits::default());
        let mut first = a.try_admit().unwrap();
        first.claim_tenant_within(&tenant("acme"), Some(1)).unwrap();
        let mut second = a.try_admit().unwrap();
        assert_eq!(
            second
                .claim_tenant_within(&tenant("acme"), Some(1))
                .unwrap_err(),
            AdmissionError::TenantFull { limit: 1 }
        );
        drop(first);
        let mut third = a.try_admit().unwrap();
        third.claim_tenant_within(&tenant("acme"), Some(1)).unwrap();
        // The configured share is lower: it wins.
        let b = CallAdmission::new(AdmissionLimits {
            tenant_max: [(tenant("acme"), 1)].into(),
            ..Default::default()
        });
        let _one = b.try_admit_for(&tenant("acme")).unwrap();
        let mut two = b.try_admit().unwrap();
        assert!(two.claim_tenant_within(&tenant("acme"), Some(5)).is_err());
    }

    #[test]
    fn a_tenant_share_refuses_that_tenant_only_and_frees_on_drop() {
        let a = CallAdmission::new(AdmissionLimits {
            tenant_max: [(tenant("acme"), 1)].into(),
            ..Default::default()
        });
        let first = a.try_admit_for(&tenant("acme")).unwrap();
        let mut second = a.try_admit().unwrap();
        assert_eq!(
            second.claim_tenant(&tenant("acme")).unwrap_err(),
            AdmissionError::TenantFull { limit: 1 }
        );
        let _other = a.try_admit_for(&tenant("globex")).unwrap();
        drop(second);
        assert_eq!(a.live_calls(), 2);
        drop(first);
        let _again = a.try_admit_for(&tenant("acme")).unwrap();
        assert_eq!(a.refused()[2], ("tenant_cap", 1));
    }
}
