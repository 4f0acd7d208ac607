//! PostgreSQL: DID routing (`PgDirectory`, a cache of the `dids` table kept
//! fresh by `LISTEN did_changed`) and call history (`PgHistory`), plus the
//! migrations of `migrations/`, applied at start when configured.
//!
//! Driver: `tokio-postgres` with a `deadpool-postgres` pool, not `sqlx`: no
//! macro crates and about a third of the dependencies to build on two cores,
//! and `LISTEN` is just the connection's message stream. TLS through rustls
//! (`tokio-postgres-rustls`), per `sslmode`: the same TLS stack as the rest of
//! the gateway, no OpenSSL to link for it.

mod config;
mod directory;
mod history;
mod history_queue;
mod listener;
mod migrate;
mod routes;

pub use config::{DatabaseUrl, PostgresConfig, SslMode};
pub use directory::PgDirectory;
pub use history::PgHistory;
pub use history_queue::{QUEUE_RECORDS, QueueStats, QueuedHistory};
pub use migrate::{MIGRATIONS, Migration, migrate};

use crate::adapter::tls;
use std::{str::FromStr, time::Duration};
use tokio_postgres::Client;
use tokio_postgres_rustls::MakeRustlsConnect;

/// The readiness dependency name this adapter reports under.
pub const DEPENDENCY: &str = "postgres";

/// What went wrong talking to PostgreSQL.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    /// `[postgres] url` is unset: the adapter is off.
    #[error("postgres.url is not set")]
    NoUrl,
    /// The URL does not parse as a PostgreSQL connection string.
    #[error("postgres.url is not a valid connection string: {0}")]
    BadUrl(String),
    /// The TLS settings (`postgres.ca_file`) cannot be used.
    #[error("postgres TLS: {0}")]
    Tls(#[from] tls::TlsError),
    /// The server refused, dropped or failed a statement.
    #[error("postgres: {}", detail(.0))]
    Db(#[from] tokio_postgres::Error),
    /// No pooled connection could be had.
    #[error("postgres pool: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    /// A migration's SQL failed; nothing of it was applied.
    #[error("migration {name} failed: {source}")]
    Migration {
        /// The migration's file name.
        name: &'static str,
        /// The server's error.
        source: tokio_postgres::Error,
    },
}

/// The driver's error with its causes: its own text is only "db error" or
/// "error performing TLS handshake"; the server's message or the TLS
/// library's reason is what an operator needs.
fn detail(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{}: {}", db.severity(), db.message());
    }
    let mut out = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

/// How to reach the server: the driver's settings and the TLS connector
/// `sslmode` asks for (unused with `disable`).
#[derive(Clone)]
struct Driver {
    config: tokio_postgres::Config,
    tls: MakeRustlsConnect,
}

/// The driver's configuration from ours: timeouts and keepalives so a dead
/// server is noticed in seconds, not at the kernel's two hours.
fn driver_config(cfg: &PostgresConfig) -> Result<Driver, PgError> {
    let url = cfg.url.as_ref().ok_or(PgError::NoUrl)?;
    // The driver's error names the bad part without echoing the URL (and its password).
    let mut c = tokio_postgres::Config::from_str(url.expose())
        .map_err(|e| PgError::BadUrl(e.to_string()))?;
    c.connect_timeout(cfg.connect_timeout)
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(15))
        .application_name("voice-gateway");
    // `postgres.sslmode` alone decides (the URL's own sslmode is refused by
    // the config check), so `require` can never turn into tokio-postgres's
    // default `prefer`, which falls back to clear text.
    let tls = match cfg.sslmode {
        SslMode::Disable => {
            c.ssl_mode(tokio_postgres::config::SslMode::Disable);
            tls::encrypting_client()
        }
        SslMode::Require => {
            c.ssl_mode(tokio_postgres::config::SslMode::Require);
            tls::encrypting_client()
        }
        SslMode::VerifyFull => {
            c.ssl_mode(tokio_postgres::config::SslMode::Require);
            tls::verifying_client(cfg.ca_file.as_deref())?
        }
    };
    Ok(Driver {
        config: c,
        tls: MakeRustlsConnect::new(tls),
    })
}

/// One connection whose driver runs on its own task; the task ends with the connection.
async fn connect_one(driver: &Driver) -> Result<Client, PgError> {
    let (client, conn) = driver.config.connect(driver.tls.clone()).await?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "postgres connection closed");
        }
    });
    Ok(client)
}

/// Connects once and applies the pending migrations; returns the versions applied.
pub async fn run_migrations(cfg: &PostgresConfig) -> Result<Vec<i64>, PgError> {
    let mut client = connect_one(&driver_config(cfg)?).await?;
    migrate(&mut client).await
}
