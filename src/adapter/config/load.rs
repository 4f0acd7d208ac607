//! Loading: defaults, file, environment, typed struct, semantic checks.

use super::{
    Config, ConfigError, DEFAULT_CONFIG_PATH, MediaTransport, WireFormat,
    error::expected_form,
    overrides::{self, Applied},
};
use std::{
    net::IpAddr,
    path::{Path, PathBuf},
};
use toml::{Table, Value};

/// Where the effective configuration came from, for `check-config` and the start log.
#[derive(Debug, Clone, Default)]
pub struct ConfigSource {
    /// The file that was read, if any (none: embedded defaults only).
    pub file: Option<PathBuf>,
    /// Keys overridden from the environment, with the variable that set each.
    pub env_overrides: Vec<(String, String)>,
}

/// Loads the configuration.
///
/// `path` is the `--config` argument: when given, the file must exist; when
/// not, [`DEFAULT_CONFIG_PATH`] is read if present and embedded defaults serve
/// otherwise (so `make run` works on a fresh clone). `env` is normally
/// `std::env::vars()`; tests pass their own.
pub fn load(
    path: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<(Config, ConfigSource), ConfigError> {
    let (file, text) = match path {
        Some(p) => (Some(p.to_path_buf()), Some(read(p)?)),
        None => {
            let p = Path::new(DEFAULT_CONFIG_PATH);
            if p.exists() {
                (Some(p.to_path_buf()), Some(read(p)?))
            } else {
                (None, None)
            }
        }
    };
    let name = file.as_ref().map(|p| p.display().to_string());
    load_inner(name.as_deref(), text.as_deref().unwrap_or(""), env).map(|(c, applied)| {
        let env_overrides = applied.into_iter().map(|a| (a.key, a.variable)).collect();
        (
            c,
            ConfigSource {
                file,
                env_overrides,
            },
        )
    })
}

/// Loads from TOML text (and environment overrides) without touching the disk.
pub fn load_from_str(
    text: &str,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Config, ConfigError> {
    load_inner(Some("<inline>"), text, env).map(|(c, _)| c)
}

fn read(p: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(p).map_err(|e| ConfigError::Unreadable {
        path: p.to_path_buf(),
        reason: e.to_string(),
    })
}

fn load_inner(
    file: Option<&str>,
    text: &str,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<(Config, Vec<Applied>), ConfigError> {
    let file_label = file.unwrap_or("<defaults>");
    let mut tree = match Value::try_from(Config::default()) {
        Ok(Value::Table(t)) => t,
        _ => unreachable!("the default configuration serialises to a table"),
    };
    let from_file: Table = text
        .parse()
        .map_err(|e: toml::de::Error| ConfigError::Syntax {
            path: file_label.into(),
            reason: e.to_string().trim().to_owned(),
        })?;
    merge(&mut tree, from_file);
    let applied = overrides::apply(&mut tree, env)?;
    let origin = |key: &str| match applied.iter().find(|a| a.key == key) {
        Some(a) => format!("set by {}", a.variable),
        None => format!("from {file_label}"),
    };

    let config: Config = serde_path_to_error::deserialize(Value::Table(tree)).map_err(|e| {
        let key = e.path().to_string();
        let problem = e.into_inner().message().trim().to_owned();
        ConfigError::Invalid {
            origin: origin(&key),
            expected: expected_form(&key).map(str::to_owned),
            problem,
            key,
        }
    })?;
    validate(&config).map_err(|(key, problem)| ConfigError::Invalid {
        origin: origin(&key),
        expected: expected_form(&key).map(str::to_owned),
        problem,
        key,
    })?;
    Ok((config, applied))
}

/// Deep-merges `over` into `base`: tables merge key by key, anything else replaces.
fn merge(base: &mut Table, over: Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(Value::Table(b)), Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

/// Checks that span more than one value's syntax. Returns the key at fault.
fn validate(c: &Config) -> Result<(), (String, String)> {
    validate_scalars(c).map_err(|(k, p)| (k.to_owned(), p))?;
    super::dialing::policy(c)?;
    validate_routes(c)
}

/// `[[routes]]`: valid patterns, no pattern twice.
fn validate_routes(c: &Config) -> Result<(), (String, String)> {
    let mut seen = std::collections::HashSet::new();
    for (i, r) in c.routes.iter().enumerate() {
        let key = |field: &str| format!("routes[{i}].{field}");
        if let Err(problem) = check_did_pattern(&r.did) {
            return Err((key("did"), problem));
        }
        if !seen.insert(r.did.as_str()) {
            return Err((key("did"), format!("{:?} is routed twice", r.did)));
        }
        if r.language.is_empty()
            || r.language.len() > 35
            || !r
                .language
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err((
                key("language"),
                format!("{:?} is not a BCP 47 language tag", r.language),
            ));
        }
        if r.greeting
            .as_ref()
            .is_some_and(|g| g.trim().is_empty() || g.len() > 1000)
        {
            return Err((
                key("greeting"),
                "is empty or longer than 1000 characters".into(),
            ));
        }
        super::speech::validate_route(r).map_err(|(field, problem)| (key(field), problem))?;
        r.start_failure_target()
            .map_err(|problem| (key("on_start_failure"), problem))?;
        if r.transport.is_some() || r.format.is_some() {
            let (t, f) = route_media(c, r);
            let field = if r.format.is_some() {
                "format"
            } else {
                "transport"
            };
            check_media(t, f).map_err(|problem| (key(field), problem))?;
        }
    }
    Ok(())
}

/// A route's transport and format, as a call on it gets them.
fn route_media(c: &Config, r: &super::RouteConfig) -> (MediaTransport, WireFormat) {
    let t = r.transport.unwrap_or(c.media.transport);
    let default = if t == c.media.transport {
        c.media.wire_format()
    } else {
        t.default_format()
    };
    (t, r.format.unwrap_or(default))
}

/// Whether calls can use `transport` in `format` on this build.
fn check_media(transport: MediaTransport, format: WireFormat) -> Result<(), String> {
    if !transport.carries(format) {
        let why = match transport {
            MediaTransport::Rtp => "Asterisk drops slin16 sent to it over UnicastRTP",
            _ => "AudioSocket carries slin and slin16 only",
        };
        return Err(format!(
            "{} cannot carry {format:?} both ways ({why})",
            transport.as_str()
        ));
    }
    Ok(())
}

fn check_did_pattern(p: &str) -> Result<(), String> {
    if p == "*" {
        return Ok(());
    }
    let (body, prefix) = match p.strip_suffix('*') {
        Some(b) => (b, true),
        None => (p, false),
    };
    let digits = body.strip_prefix('+').unwrap_or(body);
    let ok = !digits.is_empty() && digits.len() <= 20 && digits.bytes().all(|b| b.is_ascii_digit());
    match (ok, prefix) {
        (true, _) => Ok(()),
        (false, _) => Err(format!("{p:?} is not a DID pattern")),
    }
}

fn validate_scalars(c: &Config) -> Result<(), (&'static str, String)> {
    if let Some(url) = c
        .orchestrator
        .url
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        return Err((
            "orchestrator.url",
            format!("{url:?} is not an http:// or https:// URL"),
        ));
    }
    super::speech::validate(&c.speech)?;
    super::telemetry::validate(&c.telemetry)?;
    if c.session.first_clause_words > 50 {
        return Err((
            "session.first_clause_words",
            format!(
                "{} is more words than a clause has: use 0 (off) to 50",
                c.session.first_clause_words
            ),
        ));
    }
    super::data::validate(&c.redis, &c.kafka, &c.postgres)?;
    super::ha::validate(c)?;
    super::tenant_manager::validate(&c.tenant_manager, &c.directory, c.postgres.url.is_some())?;
    if let Some(secret) = &c.auth.jwt_secret
        && secret.expose().len() < 32
    {
        return Err((
            "auth.jwt_secret",
            "is shorter than 32 bytes: too easy to guess".into(),
        ));
    }
    if let Some(url) = &c.auth.jwks_url {
        let http_ok = c.auth.jwks_insecure_http && url.starts_with("http://");
        if !(url.starts_with("https://") || http_ok) {
            return Err((
                "auth.jwks_url",
                format!(
                    "{url:?} is not an https:// URL (http:// only with auth.jwks_insecure_http = true, for tests)"
                ),
            ));
        }
        if c.auth.audience.as_deref().is_none_or(str::is_empty) {
            return Err((
                "auth.audience",
                "is required with auth.jwks_url: without it a token the identity provider issued for another service is accepted".into(),
            ));
        }
    }
    if let Some(bad) = c
        .limits
        .tenants
        .keys()
        .find(|t| crate::domain::TenantId::parse(t.as_str()).is_err())
    {
        return Err(("limits.tenants", format!("{bad:?} is not a tenant id")));
    }
    if c.limits.max_live_calls == 0 {
        return Err(("limits.max_live_calls", "must be at least 1".into()));
    }
    if !(1..=100).contains(&c.limits.ready_high_water_percent) {
        return Err((
            "limits.ready_high_water_percent",
            format!(
                "{} is not a percentage from 1 to 100",
                c.limits.ready_high_water_percent
            ),
        ));
    }
    if let Some((t, n)) = c.limits.tenants.iter().find_map(|(t, l)| {
        l.max_live_calls
            .filter(|&n| n == 0 || n > c.limits.max_live_calls)
            .map(|n| (t, n))
    }) {
        return Err((
            "limits.tenants",
            format!(
                "{t:?} max_live_calls = {n} is not between 1 and limits.max_live_calls ({})",
                c.limits.max_live_calls
            ),
        ));
    }
    if c.http.max_body_bytes < 1024 {
        return Err(("http.max_body_bytes", "is below 1024 bytes".into()));
    }
    super::session::validate(c)?;
    c.outbound.machine_detection.validate()?;
    if c.session.transfer_ring_timeout.0 < std::time::Duration::from_secs(1) {
        return Err((
            "session.transfer_ring_timeout",
            "is shorter than 1s (Asterisk counts it in whole seconds)".into(),
        ));
    }
    if c.session.playback_drain_grace.0 < std::time::Duration::from_secs(1) {
        return Err((
            "session.playback_drain_grace",
            "is shorter than 1s (playback runs late on a busy machine)".into(),
        ));
    }
    if c.session.final_timeout.0.is_zero() {
        return Err(("session.final_timeout", "must be greater than zero".into()));
    }
    if c.session.endpointing.0 > c.session.max_turn.0 {
        return Err((
            "session.endpointing",
            "is longer than session.max_turn".into(),
        ));
    }
    let url = c.ari.url.trim();
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or((
            "ari.url",
            format!("{url:?} is not an http:// or https:// URL"),
        ))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() || host.contains(char::is_whitespace) || host.contains('@') {
        return Err(("ari.url", format!("{url:?} has no usable host")));
    }
    if c.ari.username.trim().is_empty() {
        return Err(("ari.username", "is empty".into()));
    }
    let app = &c.ari.app;
    if app.is_empty()
        || app.len() > 64
        || !app
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    {
        return Err((
            "ari.app",
            format!("{app:?} is not a valid Stasis application name"),
        ));
    }
    for (key, d) in [
        ("ari.reconnect_max_delay", c.ari.reconnect_max_delay.0),
        ("ari.request_timeout", c.ari.request_timeout.0),
    ] {
        if d.is_zero() {
            return Err((key, "must be greater than zero".into()));
        }
    }
    if c.ari
        .reclaim_after
        .is_some_and(|d| d.0 < std::time::Duration::from_secs(1))
    {
        return Err((
            "ari.reclaim_after",
            "must be at least 1s (absent: never reclaim)".into(),
        ));
    }
    if let Some(url) = &c.ami.url {
        crate::adapter::ami::address_of(url).map_err(|e| ("ami.url", e))?;
        if c.ami.username.trim().is_empty() {
            return Err(("ami.username", "is empty".into()));
        }
        for (key, value) in [
            ("ami.username", c.ami.username.as_str()),
            ("ami.secret", c.ami.secret.expose()),
        ] {
            if value.contains(['\r', '\n', '\0']) {
                return Err((key, "holds a line break or NUL byte".into()));
            }
        }
        if c.ami.timeout.0.is_zero() {
            return Err(("ami.timeout", "must be greater than zero".into()));
        }
    }
    if c.media.advertised().is_unspecified() {
        return Err((
            "media.advertise_address",
            format!(
                "must be set to an address Asterisk can reach when media.bind_address is {}",
                c.media.bind_address
            ),
        ));
    }
    if let Some(IpAddr::V4(a)) = c.media.advertise_address
        && a.is_broadcast()
    {
        return Err((
            "media.advertise_address",
            "a broadcast address cannot receive RTP".into(),
        ));
    }
    if let Err(problem) = check_media(c.media.transport, c.media.wire_format()) {
        let key = if c.media.format.is_some() {
            "media.format"
        } else {
            "media.transport"
        };
        return Err((key, problem));
    }
    if c.media.rtp_port_range.len() < 2 {
        return Err(("media.rtp_port_range", "holds fewer than 2 ports".into()));
    }
    let (min, max) = (c.media.jitter_min_delay.0, c.media.jitter_max_delay.0);
    if max.is_zero() || max > std::time::Duration::from_secs(1) {
        return Err((
            "media.jitter_max_delay",
            format!("{max:?} is not between 1 ms and 1 s"),
        ));
    }
    if min > max {
        return Err((
            "media.jitter_min_delay",
            format!("{min:?} is above media.jitter_max_delay ({max:?})"),
        ));
    }
    if c.media.pacing_priority > 99 {
        return Err((
            "media.pacing_priority",
            format!(
                "{} is not 0 (not real-time) or a SCHED_FIFO priority from 1 to 99",
                c.media.pacing_priority
            ),
        ));
    }
    let onset = c.media.vad_onset.0;
    if !onset.as_millis().is_multiple_of(20) || !(20..=200).contains(&onset.as_millis()) {
        return Err((
            "media.vad_onset",
            format!("{onset:?} is not a multiple of 20 ms between 20 ms and 200 ms"),
        ));
    }
    if let Err(e) = tracing_subscriber::EnvFilter::builder().parse(&c.log.level) {
        return Err((
            "log.level",
            format!("{:?} is not a valid filter: {e}", c.log.level),
        ));
    }
    Ok(())
}
