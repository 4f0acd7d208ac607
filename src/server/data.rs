//! The shared engines the configuration names, or the embedded defaults:
//! Redis or memory for live calls, Kafka or a JSON-lines file for events,
//! PostgreSQL or `[[routes]]` for routing (and PostgreSQL or nothing for
//! call history).

use super::ServerError;
use crate::{
    adapter::{
        config::Config,
        config::DirectorySource,
        directory::{ChainDirectory, StaticDirectory, TenantManagerDirectory},
        events::{JsonlFile, KafkaConfig, KafkaMetrics, KafkaPublisher},
        http::api::{IdempotencyStore, MemoryIdempotency},
        postgres::{DatabaseUrl, PgDirectory, PgHistory, PostgresConfig, run_migrations},
        store::{
            MemoryCallStore, RedisCallStore, RedisIdempotency, RedisStoreConfig, StoreMetrics,
        },
    },
    application::{
        health::Readiness,
        ports::{
            directory::TenantDirectory,
            events::EventPublisher,
            history::{CallHistory, NoHistory},
            store::CallStore,
        },
    },
};
use prometheus_client::registry::Registry;
use std::{sync::Arc, time::Duration};

/// Keys the in-memory idempotency store remembers (the API's own default).
const MEMORY_IDEMPOTENCY_KEYS: usize = 10_000;
/// How long the embedded store keeps an ended call readable (at most
/// `limits.ended_calls_kept` of them).
const MEMORY_ENDED_RETENTION: Duration = Duration::from_secs(3600);

/// How long a graceful shutdown waits for the broker to acknowledge what is
/// spooled; the rest stays on disk for the next start.
const KAFKA_FLUSH_ON_SHUTDOWN: Duration = Duration::from_secs(10);

/// The event publisher in use, kept to close it at shutdown.
#[derive(Debug, Clone)]
pub(super) enum Events {
    /// The embedded default.
    File(JsonlFile),
    /// Kafka through the spool.
    Kafka(KafkaPublisher),
}

impl Events {
    pub(super) fn publisher(&self) -> Arc<dyn EventPublisher> {
        match self {
            Self::File(f) => Arc::new(f.clone()),
            Self::Kafka(k) => Arc::new(k.clone()),
        }
    }

    /// Flushes and closes: the file is synced; Kafka gets a bounded wait for
    /// acknowledgements, then its spool is synced and kept for the next start.
    pub(super) async fn close(&self) {
        match self {
            Self::File(f) => f.close().await,
            Self::Kafka(k) => {
                if !k.flush(KAFKA_FLUSH_ON_SHUTDOWN).await {
                    tracing::warn!(
                        "kafka: events still unacknowledged at shutdown; they stay in the spool"
                    );
                }
                k.close().await;
            }
        }
    }
}

/// What the sessions and the API get from the data adapters.
pub(super) struct Data {
    pub(super) store: Arc<dyn CallStore>,
    pub(super) idempotency: Arc<dyn IdempotencyStore>,
    pub(super) events: Events,
    pub(super) directory: Arc<dyn TenantDirectory>,
    pub(super) history: Arc<dyn CallHistory>,
    /// The Asterisk's lease, with `[ha] enabled`.
    pub(super) ha: Option<super::ha::Ha>,
}

/// Builds each data adapter the configuration selects. Redis and Kafka never
/// stop the start (they start degraded or spooling); PostgreSQL stops it
/// only when its migrations cannot be applied.
pub(super) async fn build(
    config: &Config,
    readiness: &Arc<Readiness>,
    registry: &mut Registry,
) -> Result<Data, ServerError> {
    let (store, idempotency, ha) = store(config, readiness, registry).await?;
    let events = events(config, readiness, registry).await?;
    let (pg_directory, history) = postgres(config, readiness, registry).await?;
    let directory = directory(config, pg_directory)?;
    Ok(Data {
        store,
        idempotency,
        events,
        directory,
        history,
        ha,
    })
}

async fn store(
    config: &Config,
    readiness: &Arc<Readiness>,
    registry: &mut Registry,
) -> Result<
    (
        Arc<dyn CallStore>,
        Arc<dyn IdempotencyStore>,
        Option<super::ha::Ha>,
    ),
    ServerError,
> {
    let r = &config.redis;
    let Some(url) = &r.url else {
        return Ok((
            Arc::new(MemoryCallStore::new(
                MEMORY_ENDED_RETENTION,
                config.limits.ended_calls_kept as usize,
            )),
            Arc::new(MemoryIdempotency::new(MEMORY_IDEMPOTENCY_KEYS)),
            None,
        ));
    };
    let cfg = RedisStoreConfig {
        url: url.expose().to_owned(),
        key_prefix: r.key_prefix.clone(),
        ended_ttl: r.ended_ttl.0,
        op_timeout: r.op_timeout.0,
        gateway_instance: r.gateway_instance.clone().unwrap_or_else(host_name),
        retry_max: r.retry_max.0,
        ca_file: r.ca_file.clone(),
    };
    let metrics = StoreMetrics::register(registry);
    let store = RedisCallStore::connect(&cfg, readiness.clone(), metrics.clone())
        .await
        .map_err(|e| ServerError::Setup(format!("redis.url {url}: {e}")))?;
    let idempotency =
        RedisIdempotency::new(store.connection(), &r.key_prefix, r.op_timeout.0, metrics);
    tracing::info!(redis = %url, instance = %cfg.gateway_instance, "call store: redis");
    let ha = super::ha::build(config, &cfg, &store)?;
    Ok((Arc::new(store), Arc::new(idempotency), ha))
}

async fn events(
    config: &Config,
    readiness: &Arc<Readiness>,
    registry: &mut Registry,
) -> Result<Events, ServerError> {
    let k = &config.kafka;
    let Some(brokers) = &k.brokers else {
        let path = &config.events.path;
        let file = JsonlFile::open(path, config.events.source.clone())
            .await
            .map_err(|e| ServerError::Setup(format!("events.path {}: {e}", path.display())))?;
        return Ok(Events::File(file));
    };
    let cfg = KafkaConfig {
        brokers: brokers.clone(),
        topic: k.topic.clone(),
        client_id: k.client_id.clone(),
        spool_dir: k.spool_dir.clone(),
        spool_max_bytes: k.spool_max_bytes,
        message_timeout_ms: k.message_timeout.0.as_millis() as u64,
        properties: k.librdkafka_properties(),
        ..KafkaConfig::default()
    };
    let publisher = KafkaPublisher::start(
        &cfg,
        config.events.source.clone(),
        KafkaMetrics::register(registry),
        Some(readiness.clone()),
    )
    .map_err(|e| ServerError::Setup(format!("kafka: {e}")))?;
    tracing::info!(brokers = %brokers, topic = %k.topic, spool = %k.spool_dir.display(), "call events: kafka");
    Ok(Events::Kafka(publisher))
}

/// The `[directory] chain`: one directory, or several tried in order.
fn directory(
    config: &Config,
    postgres: Option<Arc<dyn TenantDirectory>>,
) -> Result<Arc<dyn TenantDirectory>, ServerError> {
    let tm = &config.tenant_manager;
    let chain = config
        .directory
        .effective(tm.url.is_some(), postgres.is_some());
    let mut links: Vec<(&'static str, Arc<dyn TenantDirectory>)> = Vec::new();
    for source in chain {
        let link: Arc<dyn TenantDirectory> = match source {
            DirectorySource::TenantManager => Arc::new(
                TenantManagerDirectory::new(tm).map_err(|e| ServerError::Setup(e.to_string()))?,
            ),
            DirectorySource::Postgres => postgres.clone().ok_or_else(|| {
                ServerError::Setup("directory.chain names postgres without postgres.url".into())
            })?,
            DirectorySource::Routes => Arc::new(StaticDirectory::new(&config.routes)),
        };
        let name = match source {
            DirectorySource::TenantManager => "tenant_manager",
            DirectorySource::Postgres => "postgres",
            DirectorySource::Routes => "routes",
        };
        links.push((name, link));
    }
    let names: Vec<&str> = links.iter().map(|(n, _)| *n).collect();
    tracing::info!(chain = ?names, "tenant directory");
    Ok(match links.len() {
        1 => links.remove(0).1,
        _ => Arc::new(ChainDirectory::new(links)),
    })
}

async fn postgres(
    config: &Config,
    readiness: &Arc<Readiness>,
    registry: &mut Registry,
) -> Result<(Option<Arc<dyn TenantDirectory>>, Arc<dyn CallHistory>), ServerError> {
    let p = &config.postgres;
    let Some(url) = &p.url else {
        return Ok((None, Arc::new(NoHistory)));
    };
    let cfg = PostgresConfig {
        url: Some(DatabaseUrl::new(url.expose())),
        migrate: p.migrate,
        pool_size: p.pool_size as usize,
        connect_timeout: p.connect_timeout.0,
        refresh_interval: p.refresh_interval.0,
        max_backoff: p.max_backoff.0,
        sslmode: p.sslmode,
        ca_file: p.ca_file.clone(),
    };
    let fail = |e: crate::adapter::postgres::PgError| {
        ServerError::Setup(format!("postgres.url {url}: {e}"))
    };
    if cfg.migrate {
        let applied = run_migrations(&cfg).await.map_err(fail)?;
        tracing::info!(applied = ?applied, "postgres migrations applied");
    }
    // Only a directory the chain asks: one spawned and dropped would leave
    // `postgres` required in readiness and never loaded (`/readyz` 503).
    let routes_here = config
        .directory
        .effective(config.tenant_manager.url.is_some(), true)
        .contains(&DirectorySource::Postgres);
    let directory: Option<Arc<dyn TenantDirectory>> = if routes_here {
        Some(Arc::new(
            PgDirectory::spawn(&cfg, readiness.clone()).map_err(fail)?,
        ))
    } else {
        None
    };
    let history = crate::adapter::postgres::QueuedHistory::spawn(
        PgHistory::new(&cfg).map_err(fail)?,
        cfg.max_backoff,
        crate::adapter::postgres::QueueStats::register(registry),
    );
    tracing::info!(postgres = %url, routes = routes_here, "call history (and routes if the chain asks): postgres");
    Ok((directory, Arc::new(history)))
}

/// This machine's name, the default gateway instance name: unique per
/// container or host without any configuration.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| {
            h.trim()
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
                .collect::<String>()
        })
        .filter(|h| !h.is_empty() && h != "call" && h != "idem")
        .unwrap_or_else(|| "gateway".into())
}
