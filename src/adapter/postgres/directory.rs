//! `TenantDirectory` over the `dids` table: lookups read an in-memory copy
//! and never wait on the database; a background task keeps the copy fresh.

use super::{PgError, PostgresConfig, driver_config, listener, routes::RouteTable};
use crate::application::{
    health::Readiness,
    ports::{
        directory::{DirectoryError, Route, TenantDirectory},
        orchestrator::BoxFuture,
    },
};
use crate::domain::{AgentId, Did, TenantId};
use std::{
    sync::{Arc, RwLock},
    time::Duration,
};
use tokio::{sync::watch, task::JoinHandle};

/// The cache the listener task writes and lookups read.
#[derive(Debug)]
pub(super) struct Cache {
    /// `None` until the first load: "no route" and "not loaded yet" must differ.
    table: RwLock<Option<Arc<RouteTable>>>,
    /// How many loads have completed; lets callers wait for one.
    loads: watch::Sender<u64>,
}

impl Cache {
    pub(super) fn replace(&self, table: RouteTable) {
        *self.table.write().expect("route cache lock poisoned") = Some(Arc::new(table));
        self.loads.send_modify(|n| *n += 1);
    }

    pub(super) fn is_loaded(&self) -> bool {
        self.current().is_some()
    }

    fn current(&self) -> Option<Arc<RouteTable>> {
        self.table
            .read()
            .expect("route cache lock poisoned")
            .clone()
    }
}

/// DID routing from PostgreSQL. Dropping it stops the background task.
#[derive(Debug)]
pub struct PgDirectory {
    cache: Arc<Cache>,
    task: JoinHandle<()>,
}

impl PgDirectory {
    /// Starts the task that loads the table, listens for `did_changed` and
    /// reconnects with backoff. Does not wait for the database: until the
    /// first load, lookups answer [`DirectoryError::Unavailable`] and the
    /// readiness dependency `postgres` is down. Fails only on a bad URL.
    pub fn spawn(cfg: &PostgresConfig, readiness: Arc<Readiness>) -> Result<Self, PgError> {
        let driver = driver_config(cfg)?;
        readiness.register(super::DEPENDENCY, true);
        let cache = Arc::new(Cache {
            table: RwLock::new(None),
            loads: watch::channel(0).0,
        });
        let task = tokio::spawn(listener::run(
            driver,
            listener::Timing::from(cfg),
            Arc::clone(&cache),
            readiness,
        ));
        Ok(Self { cache, task })
    }

    /// Waits until the table has been loaded at least once; false on timeout.
    pub async fn wait_loaded(&self, timeout: Duration) -> bool {
        let mut loads = self.cache.loads.subscribe();
        tokio::time::timeout(timeout, loads.wait_for(|n| *n > 0))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// How many times the table has been (re)loaded; for tests and metrics.
    pub fn loads(&self) -> u64 {
        *self.cache.loads.borrow()
    }

    /// The route for a DID from the cache, synchronously.
    pub fn find(&self, did: &Did) -> Result<Option<Route>, DirectoryError> {
        let table = self.cache.current().ok_or_else(|| {
            DirectoryError::Unavailable(crate::application::ports::Cause::msg(
                "routes not loaded from postgres yet",
            ))
        })?;
        Ok(table.find(did).cloned())
    }
}

impl Drop for PgDirectory {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TenantDirectory for PgDirectory {
    fn lookup<'a>(&'a self, did: &'a Did) -> BoxFuture<'a, Result<Option<Route>, DirectoryError>> {
        let found = self.find(did);
        Box::pin(async move { found })
    }

    fn owner<'a>(
        &'a self,
        did: &'a Did,
    ) -> BoxFuture<'a, Result<Option<TenantId>, DirectoryError>> {
        let owner = self
            .cache
            .current()
            .ok_or_else(|| {
                DirectoryError::Unavailable(crate::application::ports::Cause::msg(
                    "routes not loaded from postgres yet",
                ))
            })
            .map(|table| table.find_owned(did).map(|r| r.tenant.clone()));
        Box::pin(async move { owner })
    }

    fn agents<'a>(
        &'a self,
        tenant: &'a TenantId,
    ) -> BoxFuture<'a, Result<Vec<AgentId>, DirectoryError>> {
        let agents = self
            .cache
            .current()
            .ok_or_else(|| {
                DirectoryError::Unavailable(crate::application::ports::Cause::msg(
                    "routes not loaded from postgres yet",
                ))
            })
            .map(|table| table.agents(tenant));
        Box::pin(async move { agents })
    }
}
