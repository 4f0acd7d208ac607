//! A tiny migration runner: the SQL files of `migrations/` are compiled in and
//! applied in order, each in its own transaction, recorded in
//! `schema_migrations`. Several gateways may start together: an advisory lock
//! makes them take turns, so each migration runs once.

use super::PgError;
use tokio_postgres::Client;

/// One embedded migration.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Applied in increasing order; the file name's number.
    pub version: i64,
    /// The file name without `.sql`.
    pub name: &'static str,
    /// The statements.
    pub sql: &'static str,
}

macro_rules! migration {
    ($version:literal, $name:literal) => {
        Migration {
            version: $version,
            name: $name,
            sql: include_str!(concat!("../../../migrations/", $name, ".sql")),
        }
    };
}

/// Every migration, in order. A test checks that this lists every file in `migrations/`.
pub const MIGRATIONS: &[Migration] = &[
    migration!(1, "0001_tenants_dids"),
    migration!(2, "0002_call_records"),
    migration!(3, "0003_dids_speech_fallbacks"),
    migration!(4, "0004_dids_media_transport"),
];

/// An arbitrary constant shared by every gateway: the advisory lock's key.
const LOCK_KEY: i64 = 0x7667_5f6d_6967; // "vg_mig"

/// Applies the migrations not applied yet; returns the versions it applied.
pub async fn migrate(client: &mut Client) -> Result<Vec<i64>, PgError> {
    // Session-level lock, taken first so that even creating the bookkeeping
    // table is not raced; released on unlock or when the connection ends.
    client
        .execute("SELECT pg_advisory_lock($1)", &[&LOCK_KEY])
        .await?;
    let result = apply_pending(client).await;
    let unlock = client
        .execute("SELECT pg_advisory_unlock($1)", &[&LOCK_KEY])
        .await;
    let applied = result?;
    unlock?;
    Ok(applied)
}

async fn apply_pending(client: &mut Client) -> Result<Vec<i64>, PgError> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version bigint PRIMARY KEY,
                 name text NOT NULL,
                 applied_at timestamptz NOT NULL DEFAULT now())",
        )
        .await?;
    let done: Vec<i64> = client
        .query("SELECT version FROM schema_migrations", &[])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut applied = Vec::new();
    for m in MIGRATIONS.iter().filter(|m| !done.contains(&m.version)) {
        let tx = client.transaction().await?;
        tx.batch_execute(m.sql)
            .await
            .map_err(|source| PgError::Migration {
                name: m.name,
                source,
            })?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
            &[&m.version, &m.name],
        )
        .await?;
        tx.commit().await?;
        tracing::info!(migration = m.name, "database migration applied");
        applied.push(m.version);
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::MIGRATIONS;

    #[test]
    fn every_file_in_migrations_is_embedded_in_order() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter_map(|f| f.strip_suffix(".sql").map(str::to_owned))
            .collect();
        files.sort();
        let embedded: Vec<&str> = MIGRATIONS.iter().map(|m| m.name).collect();
        assert_eq!(files, embedded);
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version, i as i64 + 1);
            assert!(m.name.starts_with(&format!("{:04}_", m.version)));
        }
    }
}
