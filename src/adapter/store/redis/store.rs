//! [`RedisCallStore`]: Redis first, memory when Redis is away.

use super::{
    backend::{Applied, Backend},
    config::RedisStoreConfig,
    link::{self, Link},
    metrics::StoreMetrics,
    version::VersionClock,
};
use crate::{
    adapter::store::MemoryCallStore,
    application::{
        health::{DependencyState, Readiness},
        ports::{
            calls::{CallSummary, ListFilter, Page},
            orchestrator::BoxFuture,
            store::{CallStore, StoreError},
        },
    },
    domain::{CallId, TenantId},
};
use futures_util::FutureExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::{
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, SystemTime},
};
use tokio::{sync::Notify, task::JoinHandle};

/// Call records in Redis, shared by every gateway instance.
///
/// Every write is also kept in this process's memory. When Redis does not
/// answer within `op_timeout`, readiness shows `redis` degraded, reads come
/// from memory and writes wait in memory until a background task writes them
/// back. The task stops when the store is dropped.
pub struct RedisCallStore {
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

/// What the store and its write-back task share.
pub(super) struct Shared {
    pub(super) backend: Backend,
    memory: MemoryCallStore,
    clock: VersionClock,
    link: Mutex<Link>,
    pub(super) wake: Notify,
    pub(super) readiness: Arc<Readiness>,
    pub(super) metrics: StoreMetrics,
    pub(super) retry_max: Duration,
}

impl RedisCallStore {
    /// Connects (lazily: an unreachable Redis is not an error, the store
    /// starts degraded) and starts the write-back task. Fails only on a
    /// malformed URL or gateway instance name.
    pub async fn connect(
        config: &RedisStoreConfig,
        readiness: Arc<Readiness>,
        metrics: StoreMetrics,
    ) -> Result<Self, StoreError> {
        let bad =
            |what: String| StoreError::Unavailable(crate::application::ports::Cause::msg(what));
        let failed = |e: redis::RedisError| {
            StoreError::Unavailable(crate::application::ports::Cause::new(e))
        };
        let i = config.gateway_instance.as_str();
        // `call` and `idem` would let a tenant named `gw` share key names with this instance.
        if i.is_empty() || i.contains(':') || i == "call" || i == "idem" {
            return Err(bad(format!("unusable gateway instance name {i:?}")));
        }
        let client = client(config).map_err(bad)?;
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(config.op_timeout))
            .set_response_timeout(Some(config.op_timeout))
            .set_number_of_retries(1)
            .set_max_delay(config.op_timeout);
        let conn =
            ConnectionManager::new_lazy_with_config(client, manager_config).map_err(failed)?;
        readiness.register("redis", false);
        let shared = Arc::new(Shared {
            backend: Backend::new(conn, config),
            memory: MemoryCallStore::new(config.ended_ttl, 10_000),
            clock: VersionClock::default(),
            link: Mutex::default(),
            wake: Notify::new(),
            readiness,
            metrics,
            retry_max: config.retry_max,
        });
        match shared.backend.ping().await {
            Ok(()) => {
                shared.lock().up = true;
                shared.readiness.set("redis", DependencyState::Up);
            }
            Err(e) => shared.degraded(&e),
        }
        let task = tokio::spawn(link::run(shared.clone()));
        Ok(Self { shared, task })
    }

    /// Writes `record` with a version the caller chose (e.g. one carried
    /// over from another instance); [`CallStore::put`] takes the next
    /// version from this store's clock instead.
    pub async fn put_versioned(
        &self,
        record: CallSummary,
        version: u64,
    ) -> Result<Applied, StoreError> {
        let (direct, _) = self.shared.accept(&record, || version);
        Ok(if direct {
            self.shared.send(record, version).await
        } else {
            Applied::Pending
        })
    }

    /// Makes every later write carry the lease's fencing token: Redis then
    /// refuses it once a newer holder has written the call.
    pub fn fence_with(&self, fence: Arc<crate::application::lease::Fence>) {
        self.shared.backend.fence_with(fence);
    }

    /// A connection to the store's Redis, for tools and tests.
    pub fn connection(&self) -> ConnectionManager {
        self.shared.backend.conn()
    }
}

/// The client for `config.url`; `rediss://` verifies the server's
/// certificate against `ca_file` when given (the redis crate's own default is
/// the system's trust store).
pub(super) fn client(config: &RedisStoreConfig) -> Result<redis::Client, String> {
    let Some(ca) = &config.ca_file else {
        return redis::Client::open(config.url.as_str()).map_err(|e| e.to_string());
    };
    if !config.url.starts_with("rediss://") {
        return Err("a CA file is set but the URL is not rediss:// (TLS)".into());
    }
    let pem = std::fs::read(ca).map_err(|e| format!("CA file {}: {e}", ca.display()))?;
    redis::Client::build_with_tls(
        config.url.as_str(),
        redis::TlsCertificates {
            client_tls: None,
            root_cert: Some(pem),
        },
    )
    .map_err(|e| e.to_string())
}

impl Drop for RedisCallStore {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Shared {
    pub(super) fn lock(&self) -> MutexGuard<'_, Link> {
        self.link.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Memory first, then either `true` (send to Redis now) or kept for
    /// write-back. The version is taken under the lock, so the memory copy
    /// sees writes in version order too.
    fn accept(&self, record: &CallSummary, version: impl FnOnce() -> u64) -> (bool, u64) {
        let mut link = self.lock();
        let version = version();
        self.mirror(record);
        link.track(version, record);
        if !link.up {
            link.keep(version, record.clone());
            self.metrics.pending(link.pending());
        }
        (link.up, version)
    }

    /// The memory copy, which never revives an ended call either.
    fn mirror(&self, record: &CallSummary) {
        let held = self.memory.get(&record.tenant_id, &record.call_id);
        // The memory store answers at once: its futures are ready when returned.
        let ended = matches!(held.now_or_never(), Some(Ok(Some(r))) if r.ended_at.is_some());
        if !ended || record.ended_at.is_some() {
            let _ = self.memory.put(record.clone()).now_or_never();
        }
    }

    async fn send(&self, record: CallSummary, version: u64) -> Applied {
        self.metrics.op("put");
        match self.backend.put(&record, version).await {
            Ok(applied) => applied,
            Err(e) => {
                self.lock().keep(version, record);
                self.lost("put", &e);
                Applied::Pending
            }
        }
    }

    fn is_up(&self) -> bool {
        self.lock().up
    }
}

impl CallStore for RedisCallStore {
    fn put(&self, record: CallSummary) -> BoxFuture<'_, Result<(), StoreError>> {
        // The version is taken now, not when the write reaches Redis: calls
        // made in this order win in this order.
        let (direct, version) = self
            .shared
            .accept(&record, || self.shared.clock.next(SystemTime::now()));
        Box::pin(async move {
            if direct {
                self.shared.send(record, version).await;
            }
            Ok(())
        })
    }

    fn get<'a>(
        &'a self,
        tenant: &'a TenantId,
        call: &'a CallId,
    ) -> BoxFuture<'a, Result<Option<CallSummary>, StoreError>> {
        Box::pin(async move {
            if self.shared.is_up() {
                self.shared.metrics.op("get");
                match self.shared.backend.get(tenant, call).await {
                    Ok(found) => return Ok(found),
                    Err(e) => self.shared.lost("get", &e),
                }
            }
            self.shared.memory.get(tenant, call).await
        })
    }

    fn list<'a>(
        &'a self,
        tenant: &'a TenantId,
        filter: &'a ListFilter,
    ) -> BoxFuture<'a, Result<Page, StoreError>> {
        Box::pin(async move {
            if self.shared.is_up() {
                self.shared.metrics.op("list");
                match self.shared.backend.list(tenant, filter).await {
                    Ok(page) => return Ok(page),
                    Err(e) => self.shared.lost("list", &e),
                }
            }
            self.shared.memory.list(tenant, filter).await
        })
    }

    /// From Redis only: this process's memory knows nothing of a process
    /// that died, so without Redis there is no answer.
    /// From Redis only, like [`Self::owned_live`].
    fn live_of<'a>(
        &'a self,
        instance: &'a str,
        max: usize,
    ) -> BoxFuture<'a, Result<Vec<CallSummary>, StoreError>> {
        Box::pin(async move {
            self.shared.metrics.op("live_of");
            self.shared
                .backend
                .live_of(instance, max)
                .await
                .map_err(|e| {
                    self.shared.lost("live_of", &e);
                    StoreError::Unavailable(crate::application::ports::Cause::msg(e))
                })
        })
    }

    fn owned_live(&self, max: usize) -> BoxFuture<'_, Result<Vec<CallSummary>, StoreError>> {
        Box::pin(async move {
            self.shared.metrics.op("owned_live");
            self.shared.backend.owned_live(max).await.map_err(|e| {
                self.shared.lost("owned_live", &e);
                StoreError::Unavailable(crate::application::ports::Cause::msg(e))
            })
        })
    }
}
