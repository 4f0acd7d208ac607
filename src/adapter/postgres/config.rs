//! `[postgres]` settings. Owned here rather than in `adapter::config` so the
//! adapter can be built and tested alone; the loader maps the TOML table in.

use serde::{Deserialize, Serialize};
use std::{fmt, path::PathBuf, time::Duration};

/// A connection URL that may hold a password: never printed, not even by `Debug`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// Wraps a URL such as `postgres://user:pass@host:5432/db`.
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    /// The URL itself, for the driver only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DatabaseUrl(<redacted>)")
    }
}

/// PostgreSQL routing and call history. `url` unset means routes from the
/// configuration file and no call history.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PostgresConfig {
    /// `postgres://…`; `None` disables the adapter.
    pub url: Option<DatabaseUrl>,
    /// Apply the embedded migrations at start.
    pub migrate: bool,
    /// Connections for call-record writes (the directory uses one more of its own).
    pub pool_size: usize,
    /// Give up one connection attempt after this long.
    #[serde(with = "humantime_serde_compat")]
    pub connect_timeout: Duration,
    /// Reload the whole DID table this often even without a notification, and
    /// check the listening connection is alive: a missed `NOTIFY` heals by then.
    #[serde(with = "humantime_serde_compat")]
    pub refresh_interval: Duration,
    /// Longest wait between reconnect attempts of the listening connection.
    #[serde(with = "humantime_serde_compat")]
    pub max_backoff: Duration,
    /// TLS to the server.
    pub sslmode: SslMode,
    /// The CA the server's certificate must chain to (`verify-full`); absent:
    /// the system's trust store.
    pub ca_file: Option<PathBuf>,
}

/// How a connection uses TLS; libpq's names. `prefer` is left out on
/// purpose: it falls back to clear text whenever the server (or someone in
/// between) says it has no TLS.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SslMode {
    /// Clear text: a server on this host or a trusted network only.
    #[default]
    Disable,
    /// Encrypted; any certificate is accepted (stops a passive listener only).
    Require,
    /// Encrypted; the certificate must chain to `ca_file` (or the system's
    /// roots) and name the host of the URL.
    VerifyFull,
}

impl Default for PostgresConfig {
    fn default() -> Self {
        Self {
            url: None,
            migrate: true,
            pool_size: 4,
            connect_timeout: Duration::from_secs(5),
            refresh_interval: Duration::from_secs(60),
            max_backoff: Duration::from_secs(10),
            sslmode: SslMode::Disable,
            ca_file: None,
        }
    }
}

/// `"5s"`-style durations, as the rest of the configuration writes them.
mod humantime_serde_compat {
    use serde::{Deserialize, Deserializer};
    use std::time::Duration;

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = String::deserialize(d)?;
        humantime::parse_duration(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_is_never_printed() {
        let c = PostgresConfig {
            url: Some(DatabaseUrl::new("postgres://u:hunter2@db/x")),
            ..PostgresConfig::default()
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn reads_the_toml_table() {
        let c: PostgresConfig = toml::from_str(
            "url = \"postgres://db/x\"\nmigrate = false\npool_size = 2\nrefresh_interval = \"30s\"\n",
        )
        .unwrap();
        assert_eq!(c.url.unwrap().expose(), "postgres://db/x");
        assert!(!c.migrate);
        assert_eq!(c.pool_size, 2);
        assert_eq!(c.refresh_interval, Duration::from_secs(30));
        assert_eq!(c.connect_timeout, Duration::from_secs(5));
        assert_eq!(c.sslmode, SslMode::Disable);
        let c: PostgresConfig =
            toml::from_str("sslmode = \"verify-full\"\nca_file = \"/etc/ca.pem\"\n").unwrap();
        assert_eq!(c.sslmode, SslMode::VerifyFull);
        assert!(toml::from_str::<PostgresConfig>("sslmode = \"prefer\"").is_err());
    }
}
