//! PostgreSQL: DID routing (`PgDirectory`, a cache of the `dids` table kept
//! fresh by `LISTEN did_changed`) and call history (`PgHistory`), plus the
//! migrations of `migrations/`, applied at start when configured.
//!
//! Driver: `tokio-postgres` with a `deadpool-postgres` pool, not `sqlx`: no
//! macro crates and about a third of the dependencies to build on two cores,
//! and `LISTEN` is just the connection's message stream. TLS is not wired yet:
//! the URL must reach a server on a trusted network (`sslmode=disable`).

mod config;
mod directory;
mod history;
mod history_queue;
mod listener;
mod migrate;
mod routes;

pub use config::{DatabaseUrl, PostgresConfig};
pub use directory::PgDirectory;
pub use history::PgHistory;
pub use history_queue::{QUEUE_RECORDS, QueueStats, QueuedHistory};
pub use migrate::{MIGRATIONS, Migration, migrate};

use std::{str::FromStr, time::Duration};
use tokio_postgres::{Client, NoTls};

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
    /// The server refused, dropped or failed a statement.
    #[error("postgres: {0}")]
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

/// The driver's configuration from ours: timeouts and keepalives so a dead
/// server is noticed in seconds, not at the kernel's two hours.
fn driver_config(cfg: &PostgresConfig) -> Result<tokio_postgres::Config, PgError> {
    let url = cfg.url.as_ref().ok_or(PgError::NoUrl)?;
    // The driver's error names the bad part without echoing the URL (and its password).
    let mut c = tokio_postgres::Config::from_str(url.expose())
        .map_err(|e| PgError::BadUrl(e.to_string()))?;
    c.connect_timeout(cfg.connect_timeout)
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(15))
        .application_name("voice-gateway");
    Ok(c)
}

/// One connection whose driver runs on its own task; the task ends with the connection.
async fn connect_one(cfg: &tokio_postgres::Config) -> Result<Client, PgError> {
    let (client, conn) = cfg.connect(NoTls).await?;
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
