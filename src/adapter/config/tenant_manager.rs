//! `[tenant_manager]` and `[directory]`: DID routing and tenant settings from
//! the platform's tenant-manager, chained with the local directories.

use super::{HumanDuration, Secret};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// `[tenant_manager]`: the platform service that owns tenants' telephony
/// settings. Off while `url` is unset.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TenantManagerSection {
    /// Base URL, e.g. `http://tenant-manager:8080`; absent: not used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Bearer token sent with every request (printed masked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<Secret>,
    /// The tenants whose DIDs this gateway answers, in order: the DID
    /// lookup names the tenant in its path, so an inbound DID is asked of
    /// each of them and the first that knows it owns the call.
    pub tenants: Vec<String>,
    /// Bound on one request (connect included).
    pub timeout: HumanDuration,
    /// A DID's route and a tenant's settings are reused this long.
    pub cache_ttl: HumanDuration,
    /// A DID no tenant knows is remembered as unknown this long.
    pub negative_ttl: HumanDuration,
    /// While the tenant-manager fails, an expired route still serves this
    /// long past `cache_ttl` (stale-while-error).
    pub stale_for: HumanDuration,
    /// After a failure (unreachable, timeout, 5xx) the tenant-manager is
    /// not asked for this long: cached routes serve, new DIDs are unknown.
    /// `0s`: ask every time.
    pub cool_down: HumanDuration,
    /// Entries the cache holds at most (routes and unknown DIDs together).
    pub cache_max_entries: u32,
}

impl Default for TenantManagerSection {
    fn default() -> Self {
        Self {
            url: None,
            token: None,
            tenants: Vec::new(),
            timeout: HumanDuration(Duration::from_secs(2)),
            cache_ttl: HumanDuration(Duration::from_secs(60)),
            negative_ttl: HumanDuration(Duration::from_secs(10)),
            stale_for: HumanDuration(Duration::from_secs(3600)),
            cool_down: HumanDuration(Duration::from_secs(5)),
            cache_max_entries: 100_000,
        }
    }
}

/// One directory of the `[directory] chain`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DirectorySource {
    /// `[tenant_manager]`.
    TenantManager,
    /// The `dids` table of `[postgres]`.
    Postgres,
    /// The `[[routes]]` of this file.
    Routes,
}

/// `[directory]`: which directories answer a DID, in order.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DirectorySection {
    /// Tried in order: the first that knows the DID routes the call; one
    /// that fails is skipped. Empty: `tenant_manager` when its URL is set,
    /// then `postgres` when its URL is set; `routes` only when neither is
    /// (the embedded catch-all `*` route would answer every DID the
    /// tenant-manager does not know: name `routes` to want that).
    pub chain: Vec<DirectorySource>,
}

impl DirectorySection {
    /// The chain in effect: the configured one, else the default.
    pub fn effective(&self, tenant_manager: bool, postgres: bool) -> Vec<DirectorySource> {
        if !self.chain.is_empty() {
            return self.chain.clone();
        }
        let mut chain = Vec::new();
        if tenant_manager {
            chain.push(DirectorySource::TenantManager);
        }
        if postgres {
            chain.push(DirectorySource::Postgres);
        }
        if chain.is_empty() {
            chain.push(DirectorySource::Routes);
        }
        chain
    }
}

/// Checks both sections; the error names the key.
pub(super) fn validate(
    tm: &TenantManagerSection,
    dir: &DirectorySection,
    postgres: bool,
) -> Result<(), (&'static str, String)> {
    if let Some(url) = &tm.url {
        check_url(url).map_err(|p| ("tenant_manager.url", p))?;
        if tm.tenants.is_empty() {
            return Err((
                "tenant_manager.tenants",
                "is empty: name the tenants whose DIDs this gateway answers".into(),
            ));
        }
    }
    if let Some(bad) = tm
        .tenants
        .iter()
        .find(|t| crate::domain::TenantId::parse(t.as_str()).is_err())
    {
        return Err((
            "tenant_manager.tenants",
            format!("{bad:?} is not a tenant id"),
        ));
    }
    if tm
        .token
        .as_ref()
        .is_some_and(|t| t.is_empty() || !t.expose().bytes().all(|b| b.is_ascii_graphic()))
    {
        return Err((
            "tenant_manager.token",
            "is empty or holds spaces or control characters".into(),
        ));
    }
    for (key, d) in [
        ("tenant_manager.timeout", tm.timeout),
        ("tenant_manager.cache_ttl", tm.cache_ttl),
        ("tenant_manager.negative_ttl", tm.negative_ttl),
    ] {
        if d.0.is_zero() {
            return Err((key, "must be greater than zero".into()));
        }
    }
    if tm.timeout.0 > Duration::from_secs(10) {
        return Err((
            "tenant_manager.timeout",
            format!("{} would keep a caller waiting: at most 10s", tm.timeout),
        ));
    }
    if tm.cool_down.0 > Duration::from_secs(300) {
        return Err((
            "tenant_manager.cool_down",
            format!(
                "{} would hide a recovered tenant-manager too long: at most 5m",
                tm.cool_down
            ),
        ));
    }
    if tm.cache_max_entries < 100 {
        return Err((
            "tenant_manager.cache_max_entries",
            "must be at least 100".into(),
        ));
    }
    check_chain(&dir.chain, tm.url.is_some(), postgres).map_err(|p| ("directory.chain", p))
}

fn check_url(url: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("{url:?} is not a URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.cannot_be_a_base() {
        return Err(format!("{url:?} is not an http:// or https:// base URL"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(format!(
            "{:?} carries credentials: use tenant_manager.token",
            parsed.host_str().unwrap_or_default()
        ));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(format!("{url:?} has a query or fragment"));
    }
    Ok(())
}

fn check_chain(chain: &[DirectorySource], tm: bool, pg: bool) -> Result<(), String> {
    for (i, s) in chain.iter().enumerate() {
        if chain[..i].contains(s) {
            return Err(format!("{s:?} is named twice"));
        }
        match s {
            DirectorySource::TenantManager if !tm => {
                return Err("names tenant_manager but tenant_manager.url is unset".into());
            }
            DirectorySource::Postgres if !pg => {
                return Err("names postgres but postgres.url is unset".into());
            }
            _ => {}
        }
    }
    Ok(())
}
