//! The dialing policy: which destinations each tenant's API calls and its
//! agents' transfers may reach, and which caller ids it may send.

use crate::domain::{DialRefusal, DialRules, E164, NumberPrefix, TenantId};
use std::collections::HashMap;

/// One tenant's rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantDialing {
    /// `POST /v1/calls` and API transfers to a number.
    pub api: DialRules,
    /// Agent-requested transfers to a number.
    pub transfer: DialRules,
    /// Caller ids the tenant may present, besides the DIDs routed to it.
    pub caller_ids: Vec<NumberPrefix>,
}

/// Every tenant's rules, with the instance default for the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialingPolicy {
    default: TenantDialing,
    tenants: HashMap<TenantId, TenantDialing>,
    /// What the agent says when its transfer is refused.
    pub refused_transfer_text: String,
}

impl Default for DialingPolicy {
    /// North American numbers for the API, no number for the agent: what the
    /// embedded configuration ships.
    fn default() -> Self {
        let api = DialRules::parse(["+1"], []).expect("the default prefix is valid");
        Self::new(
            TenantDialing {
                api,
                transfer: DialRules::nothing(),
                caller_ids: Vec::new(),
            },
            HashMap::new(),
            "Sorry, I can't transfer you to that number. How else can I help?".into(),
        )
    }
}

impl DialingPolicy {
    /// The instance default and the tenants that have their own rules.
    pub fn new(
        default: TenantDialing,
        tenants: HashMap<TenantId, TenantDialing>,
        refused_transfer_text: String,
    ) -> Self {
        Self {
            default,
            tenants,
            refused_transfer_text,
        }
    }

    /// The rules of `tenant`.
    pub fn of(&self, tenant: &TenantId) -> &TenantDialing {
        self.tenants.get(tenant).unwrap_or(&self.default)
    }

    /// Whether the tenant's API may dial `to`.
    pub fn check_api(&self, tenant: &TenantId, to: &E164) -> Result<(), DialRefusal> {
        self.of(tenant).api.check(to)
    }

    /// Whether the tenant's agent may transfer a caller to `to`.
    pub fn check_transfer(&self, tenant: &TenantId, to: &E164) -> Result<(), DialRefusal> {
        self.of(tenant).transfer.check(to)
    }

    /// Whether `from` is one of the tenant's configured caller ids (the
    /// caller also accepts the DIDs routed to the tenant).
    pub fn is_listed_caller_id(&self, tenant: &TenantId, from: &E164) -> bool {
        self.of(tenant).caller_ids.iter().any(|p| p.matches(from))
    }
}
