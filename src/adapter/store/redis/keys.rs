//! Key names. Tenant and call ids are slugs (`A-Z a-z 0-9 - _`), so they
//! cannot contain the `:` separator and one tenant's keys cannot be forged
//! from another's ids.

use crate::domain::{CallId, TenantId};

/// Builds the keys under one prefix.
#[derive(Debug, Clone)]
pub(super) struct Keys {
    prefix: String,
}

impl Keys {
    pub(super) fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
        }
    }

    /// `P:{tenant}:call:` — the call key without the call id (the list script appends it).
    pub(super) fn call_prefix(&self, tenant: &TenantId) -> String {
        format!("{}:{tenant}:call:", self.prefix)
    }

    pub(super) fn call(&self, tenant: &TenantId, call: &CallId) -> String {
        format!("{}{call}", self.call_prefix(tenant))
    }

    pub(super) fn live(&self, tenant: &TenantId) -> String {
        format!("{}:{tenant}:live", self.prefix)
    }

    pub(super) fn calls(&self, tenant: &TenantId) -> String {
        format!("{}:{tenant}:calls", self.prefix)
    }

    pub(super) fn ended(&self, tenant: &TenantId) -> String {
        format!("{}:{tenant}:ended", self.prefix)
    }

    /// `P:gw:` — a gateway's live index without the instance (the script
    /// builds the previous owner's key when a call changes hands).
    pub(super) fn gateway_prefix(&self) -> String {
        format!("{}:gw:", self.prefix)
    }

    pub(super) fn gateway_live(&self, instance: &str) -> String {
        format!("{}{instance}:live", self.gateway_prefix())
    }

    /// `P:gw:{instance}:api`: the call API base URL the instance advertises.
    pub(super) fn gateway_api(&self, instance: &str) -> String {
        format!("{}{instance}:api", self.gateway_prefix())
    }

    /// The member of a gateway's live index: calls of all tenants share it.
    pub(super) fn gateway_member(tenant: &TenantId, call: &CallId) -> String {
        format!("{tenant}:{call}")
    }

    pub(super) fn idempotency(&self, tenant: &TenantId, key: &str) -> String {
        format!("{}:{tenant}:idem:{key}", self.prefix)
    }
}
