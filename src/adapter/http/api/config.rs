//! The call API's configuration: auth, limits, body size.
//!
//! Plain data with `Default`; the config loader maps the TOML sections
//! `[auth]`, `[limits]` and `[limits.tenants.<id>]` onto it.

use serde::Deserialize;
use std::collections::HashMap;

/// Everything the call API needs besides the call-control port.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiConfig {
    /// Token checks.
    pub auth: AuthConfig,
    /// Per-tenant concurrency and originate rate.
    pub limits: LimitsConfig,
    /// Largest request body accepted; larger ones get 413.
    pub max_body_bytes: usize,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            auth: AuthConfig::default(),
            limits: LimitsConfig::default(),
            max_body_bytes: 16 * 1024,
        }
    }
}

/// How bearer tokens are checked. At least one of `jwt_secret` and `jwks_url`
/// must be set, or the API refuses to start.
#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Shared secret for HS256 tokens (the embedded default).
    pub jwt_secret: Option<String>,
    /// Where the identity provider publishes its RS256/ES256 keys (`https://`).
    pub jwks_url: Option<String>,
    /// Accept an `http://` `jwks_url`: tests on loopback only.
    pub jwks_insecure_http: bool,
    /// Required `iss`, when set.
    pub issuer: Option<String>,
    /// Required `aud`; must be set with `jwks_url` (an IdP signs tokens for
    /// every client it serves: without it, one meant for another service passes).
    pub audience: Option<String>,
    /// The claim holding the tenant id.
    pub tenant_claim: String,
    /// The claim holding the scopes (space-separated string or array).
    pub scope_claim: String,
    /// Clock skew tolerated on `exp` and `nbf`, in seconds.
    pub leeway: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            jwt_secret: None,
            jwks_url: None,
            jwks_insecure_http: false,
            issuer: None,
            audience: None,
            tenant_claim: "tenant_id".into(),
            scope_claim: "scope".into(),
            leeway: 30,
        }
    }
}

// Hand-written so the shared secret never reaches a log line.
impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthConfig")
            .field(
                "jwt_secret",
                &self.jwt_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("jwks_url", &self.jwks_url)
            .field("jwks_insecure_http", &self.jwks_insecure_http)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("tenant_claim", &self.tenant_claim)
            .field("scope_claim", &self.scope_claim)
            .field("leeway", &self.leeway)
            .finish()
    }
}

/// Default limits and per-tenant overrides.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Live calls placed through the API, per tenant.
    pub max_concurrent_calls: u32,
    /// Sustained originate rate, per tenant.
    pub originate_per_minute: u32,
    /// Originates allowed in a burst above the sustained rate.
    pub burst: u32,
    /// Overrides by tenant id (`[limits.tenants.<id>]`).
    #[serde(rename = "tenants")]
    pub per_tenant: HashMap<String, TenantLimits>,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_concurrent_calls: 50,
            originate_per_minute: 60,
            burst: 10,
            per_tenant: HashMap::new(),
        }
    }
}

/// One tenant's overrides; an absent field keeps the default.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TenantLimits {
    /// Overrides [`LimitsConfig::max_concurrent_calls`].
    pub max_concurrent_calls: Option<u32>,
    /// Overrides [`LimitsConfig::originate_per_minute`].
    pub originate_per_minute: Option<u32>,
    /// Overrides [`LimitsConfig::burst`].
    pub burst: Option<u32>,
}

/// The limits in force for one tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EffectiveLimits {
    pub(crate) max_concurrent_calls: u32,
    pub(crate) originate_per_minute: u32,
    pub(crate) burst: u32,
}

impl LimitsConfig {
    /// The defaults with the tenant's overrides applied.
    pub(crate) fn for_tenant(&self, tenant: &str) -> EffectiveLimits {
        let o = self.per_tenant.get(tenant).cloned().unwrap_or_default();
        EffectiveLimits {
            max_concurrent_calls: o.max_concurrent_calls.unwrap_or(self.max_concurrent_calls),
            originate_per_minute: o.originate_per_minute.unwrap_or(self.originate_per_minute),
            burst: o.burst.unwrap_or(self.burst),
        }
    }
}
