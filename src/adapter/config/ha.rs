//! `[ha]`: an active and a standby gateway per Asterisk, chosen by a lease in
//! Redis (see `application::lease`). Off by default: a single instance
//! opens the events socket at start, as it always has.

use super::HumanDuration;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// `[ha]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HaSection {
    /// Compete for the Asterisk's lease; only the holder opens the events
    /// socket and takes calls. Needs `redis.url` and `redis.gateway_instance`.
    pub enabled: bool,
    /// The lease's name: the same on every instance that serves this
    /// Asterisk (and its Stasis app), different for each Asterisk.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asterisk: Option<String>,
    /// How long the lease lives without renewal: a standby takes over at
    /// most this long (plus `renew_every`) after the holder died.
    pub lease_ttl: HumanDuration,
    /// How often the holder renews and a standby tries to take the lease.
    pub renew_every: HumanDuration,
    /// Said to the caller of each call taken over, after the gap in its
    /// audio; then the agent listens for the caller's next words.
    pub resume_text: String,
    /// This instance's call API as the other instances reach it (e.g.
    /// `http://10.0.0.5:8080`): kept in Redis, so that a control request
    /// for a call another instance owns, or an originate on a standby, is
    /// forwarded there. Absent: nothing is forwarded (a standby answers 503).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advertise_url: Option<String>,
}

impl Default for HaSection {
    fn default() -> Self {
        Self {
            enabled: false,
            asterisk: None,
            lease_ttl: HumanDuration(Duration::from_secs(2)),
            renew_every: HumanDuration(Duration::from_millis(500)),
            resume_text: "Sorry, where were we?".into(),
            advertise_url: None,
        }
    }
}

/// Checks `[ha]` against the rest; the error names the key.
pub(super) fn validate(c: &super::Config) -> Result<(), (&'static str, String)> {
    let ha = &c.ha;
    let (ttl, every) = (ha.lease_ttl.0, ha.renew_every.0);
    if !(Duration::from_secs(1)..=Duration::from_secs(60)).contains(&ttl) {
        return Err(("ha.lease_ttl", format!("{ttl:?} is not between 1s and 60s")));
    }
    // A holder stays active ttl/2 after its last renewal: at least two
    // renewals must fit in that, or one lost packet would fence it.
    if every.is_zero() || every > ttl / 4 {
        return Err((
            "ha.renew_every",
            format!(
                "{every:?} is not between 1ms and a quarter of ha.lease_ttl ({:?})",
                ttl / 4
            ),
        ));
    }
    let text = ha.resume_text.trim();
    if text.is_empty() || text.chars().count() > 500 || text.chars().any(char::is_control) {
        return Err((
            "ha.resume_text",
            "must be 1-500 characters on one line (the caller hears it after a takeover)".into(),
        ));
    }
    if let Some(a) = &ha.asterisk
        && !crate::adapter::store::valid_lease_name(a)
    {
        return Err((
            "ha.asterisk",
            format!("{a:?} is not 1-64 letters, digits, - _ or . (nor call or idem)"),
        ));
    }
    if let Some(u) = &ha.advertise_url {
        advertise_url(u).map_err(|e| ("ha.advertise_url", e))?;
    }
    if !ha.enabled {
        return Ok(());
    }
    if ha.asterisk.is_none() {
        return Err(("ha.asterisk", "must be set when ha.enabled is true".into()));
    }
    if c.redis.url.is_none() {
        return Err((
            "ha.enabled",
            "needs redis.url: the lease lives in Redis".into(),
        ));
    }
    if c.redis.gateway_instance.is_none() {
        return Err((
            "redis.gateway_instance",
            "must be set when ha.enabled is true: each instance needs its own name".into(),
        ));
    }
    if c.ari.reclaim_after.is_some() {
        return Err((
            "ari.reclaim_after",
            "cannot be used with ha.enabled: the lease decides who holds the Stasis app".into(),
        ));
    }
    Ok(())
}

/// An `http://` or `https://` URL with a host and a port or none, and no
/// path, query, fragment or credentials: the base the API paths go after.
fn advertise_url(u: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(u).map_err(|e| format!("{u:?} is not a URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!("{u:?} is not http:// or https://"));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(format!("{u:?} has no host"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(format!(
            "{u:?} carries credentials; the caller's token is forwarded instead"
        ));
    }
    if parsed.path() != "/" || parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(format!(
            "{u:?} has a path, query or fragment; give the base only, e.g. http://10.0.0.5:8080"
        ));
    }
    Ok(())
}
