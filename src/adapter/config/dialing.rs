//! `[dialing]` into the application's [`DialingPolicy`], checked at load.

use super::{Config, model::TenantDialingSection};
use crate::{
    application::dialing::{DialingPolicy, TenantDialing},
    domain::{DialRules, NumberPrefix, TenantId},
};

/// The policy, or the key at fault and why.
pub fn policy(c: &Config) -> Result<DialingPolicy, (String, String)> {
    let d = &c.dialing;
    let deny: Vec<&str> = d.deny.iter().map(String::as_str).collect();
    let rules = |key: &str, allow: &[String]| {
        DialRules::parse(allow.iter().map(String::as_str), deny.iter().copied())
            .map_err(|e| (key.to_owned(), e.to_string()))
    };
    rules("dialing.deny", &[])?;
    let default = TenantDialing {
        api: rules("dialing.api_allow", &d.api_allow)?,
        transfer: rules("dialing.transfer_allow", &d.transfer_allow)?,
        caller_ids: Vec::new(),
    };
    let mut tenants = std::collections::HashMap::new();
    for (name, t) in &d.tenants {
        let key = |field: &str| format!("dialing.tenants.{name}.{field}");
        let tenant = TenantId::parse(name.as_str()).map_err(|_| {
            (
                "dialing.tenants".to_owned(),
                format!("{name:?} is not a tenant id"),
            )
        })?;
        let TenantDialingSection {
            api_allow,
            transfer_allow,
            caller_ids,
        } = t;
        let caller_ids = caller_ids
            .iter()
            .map(|p| NumberPrefix::parse(p).map_err(|e| (key("caller_ids"), e.to_string())))
            .collect::<Result<_, _>>()?;
        let own = TenantDialing {
            api: match api_allow {
                Some(a) => rules(&key("api_allow"), a)?,
                None => default.api.clone(),
            },
            transfer: match transfer_allow {
                Some(a) => rules(&key("transfer_allow"), a)?,
                None => default.transfer.clone(),
            },
            caller_ids,
        };
        tenants.insert(tenant, own);
    }
    if d.refused_transfer_text.trim().is_empty() {
        return Err((
            "dialing.refused_transfer_text".into(),
            "is empty: the caller would hear nothing".into(),
        ));
    }
    Ok(DialingPolicy::new(
        default,
        tenants,
        d.refused_transfer_text.clone(),
    ))
}
