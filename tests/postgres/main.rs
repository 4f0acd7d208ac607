//! The PostgreSQL adapter against a real server started by the harness: each
//! test gets its own server and a fresh database.

// Tests read the clock to make their inputs and to measure.
#![allow(clippy::disallowed_methods)]

mod directory;
mod history;
mod migrations;
mod outage;

use std::{future::Future, sync::Arc, time::Duration};
use tokio_postgres::{Client, NoTls};
use vg_testkit::PostgresServer;
use voice_gateway::{
    adapter::postgres::{DatabaseUrl, PgDirectory, PostgresConfig, run_migrations},
    application::health::Readiness,
    domain::Did,
};

/// A server, a migrated fresh database and an admin connection to it.
pub(crate) struct Db {
    pub(crate) server: PostgresServer,
    pub(crate) cfg: PostgresConfig,
    pub(crate) sql: Client,
}

impl Db {
    /// Starts a server, creates database `test`, applies the migrations.
    pub(crate) async fn fresh() -> Self {
        let server = PostgresServer::start().expect("postgres starts");
        let admin = connect(&server.url("postgres")).await;
        admin.batch_execute("CREATE DATABASE test").await.unwrap();
        let cfg = config(&server.url("test"));
        run_migrations(&cfg).await.expect("migrations apply");
        let sql = connect(&server.url("test")).await;
        Self { server, cfg, sql }
    }

    /// Inserts a tenant.
    pub(crate) async fn tenant(&self, id: &str, store_transcripts: bool) {
        self.sql
            .execute(
                "INSERT INTO tenants (id, name, store_transcripts) VALUES ($1, $1, $2)",
                &[&id, &store_transcripts],
            )
            .await
            .unwrap();
    }

    /// Inserts a DID row.
    pub(crate) async fn did(&self, pattern: &str, tenant: &str, agent: &str) {
        self.sql
            .execute(
                "INSERT INTO dids (did_pattern, tenant_id, agent_id, greeting, stt)
                 VALUES ($1, $2, $3, 'hello', 'wyoming')",
                &[&pattern, &tenant, &agent],
            )
            .await
            .unwrap();
    }

    /// A directory over this database, loaded.
    pub(crate) async fn directory(&self) -> (PgDirectory, Arc<Readiness>) {
        let readiness = Arc::new(Readiness::default());
        let dir = PgDirectory::spawn(&self.cfg, Arc::clone(&readiness)).unwrap();
        assert!(
            dir.wait_loaded(Duration::from_secs(10)).await,
            "routes load"
        );
        (dir, readiness)
    }
}

/// The adapter's configuration for `url`, with short clocks for tests.
pub(crate) fn config(url: &str) -> PostgresConfig {
    PostgresConfig {
        url: Some(DatabaseUrl::new(url)),
        max_backoff: Duration::from_millis(500),
        connect_timeout: Duration::from_secs(2),
        ..PostgresConfig::default()
    }
}

pub(crate) async fn connect(url: &str) -> Client {
    let (client, conn) = tokio_postgres::connect(url, NoTls).await.unwrap();
    tokio::spawn(conn);
    client
}

/// The agent the directory routes `did` to, if any.
pub(crate) fn agent(dir: &PgDirectory, did: &str) -> Option<String> {
    dir.find(&Did::parse(did).unwrap())
        .expect("directory answers")
        .map(|r| r.agent.to_string())
}

/// Polls `cond` until it holds or 10 s pass; panics with `what` on timeout.
pub(crate) async fn eventually<F: Future<Output = bool>>(what: &str, mut cond: impl FnMut() -> F) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !cond().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting: {what}"
        );
        // The poll interval of a deadline-bounded wait, not a synchronisation.
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
