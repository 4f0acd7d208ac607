//! Claim checks that need the clock or the configured claim names.

use super::{Principal, bad};
use crate::{
    adapter::http::api::{config::AuthConfig, problem::ApiError},
    domain::TenantId,
};
use serde_json::{Map, Value};
use std::time::{SystemTime, UNIX_EPOCH};

/// `exp` is required and `nbf` honoured, both within `leeway`; then tenant
/// and scopes from their configured claims.
pub(super) fn check(
    claims: &Map<String, Value>,
    cfg: &AuthConfig,
    now: SystemTime,
) -> Result<Principal, ApiError> {
    let now = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let exp = claims
        .get("exp")
        .and_then(Value::as_u64)
        .ok_or_else(|| bad("the token has no numeric exp"))?;
    if exp.saturating_add(cfg.leeway) <= now {
        return Err(bad("the token has expired"));
    }
    if let Some(nbf) = claims.get("nbf") {
        let nbf = nbf
            .as_u64()
            .ok_or_else(|| bad("the token's nbf is not a number"))?;
        if nbf > now.saturating_add(cfg.leeway) {
            return Err(bad("the token is not valid yet (nbf)"));
        }
    }
    let tenant = claims
        .get(&cfg.tenant_claim)
        .and_then(Value::as_str)
        .ok_or_else(|| bad(format!("the token has no {} claim", cfg.tenant_claim)))?;
    let tenant = TenantId::parse(tenant)
        .map_err(|e| bad(format!("the token's {}: {e}", cfg.tenant_claim)))?;
    let scopes = match claims.get(&cfg.scope_claim) {
        Some(Value::String(s)) => s.split_whitespace().map(str::to_owned).collect(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    };
    Ok(Principal { tenant, scopes })
}
