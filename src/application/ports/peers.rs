//! The peers port (`[ha]`): which instance owns a call or holds an
//! Asterisk's lease, and where its call API is, so that a request that
//! lands on another instance can be forwarded there.

use super::orchestrator::BoxFuture;
use crate::domain::{CallId, TenantId};
use std::time::Duration;

/// Who runs a call, as its record says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallOwner {
    /// The instance that wrote the record last (`redis.gateway_instance`).
    pub instance: String,
    /// The call has ended.
    pub ended: bool,
}

/// Why the shared store did not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("peer directory unavailable: {0}")]
pub struct PeersError(pub String);

/// The instances sharing one Redis.
pub trait Peers: Send + Sync {
    /// The owner of `tenant`'s call `call`; `None` when the tenant has no
    /// such call (another tenant's call is as absent as one that never was).
    fn owner<'a>(
        &'a self,
        tenant: &'a TenantId,
        call: &'a CallId,
    ) -> BoxFuture<'a, Result<Option<CallOwner>, PeersError>>;
    /// The instance holding the lease of this instance's Asterisk, if any.
    fn active(&self) -> BoxFuture<'_, Result<Option<String>, PeersError>>;
    /// The API base URL `instance` advertises (`None`: it advertises none,
    /// or stopped renewing it).
    fn api_url<'a>(
        &'a self,
        instance: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, PeersError>>;
    /// Advertises this instance's API base URL for `ttl`.
    fn advertise<'a>(
        &'a self,
        url: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), PeersError>>;
}
