//! The handle: [`KafkaPublisher`] queues commands to the task in [`driver`](super::driver).

use super::{KafkaConfig, KafkaMetrics, context::Context, driver};
use crate::adapter::events::spool::Spool;
use crate::application::{
    health::Readiness,
    ports::{
        events::{CallEvent, EventPublisher, PublishError},
        orchestrator::BoxFuture,
    },
};
use std::{sync::Arc, time::Duration};
use tokio::sync::{mpsc, oneshot};

/// What the handle asks of the task.
pub(super) enum Cmd {
    /// Spool one event; the reply says whether it was accepted.
    Event(Box<CallEvent>, oneshot::Sender<Result<(), PublishError>>),
    /// Reply once everything spooled so far is acknowledged by the broker.
    Flush(oneshot::Sender<()>),
    /// Sync the spool and stop; unsent events stay for the next start.
    Close(oneshot::Sender<()>),
}

/// Why the publisher could not start.
#[derive(Debug, thiserror::Error)]
pub enum KafkaError {
    /// The spool directory could not be opened or recovered.
    #[error("event spool {dir}: {source}")]
    Spool {
        /// The directory.
        dir: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// librdkafka refused the configuration.
    #[error("kafka producer: {0}")]
    Producer(#[from] rdkafka::error::KafkaError),
}

/// Publishes call events to Kafka through an on-disk spool.
///
/// `publish` returns once the event is in the spool (handed to the OS; fsync'd
/// within `fsync_interval_ms` or `fsync_every` events); one task sends the
/// spool in order and forgets events only when the broker has acknowledged them.
#[derive(Debug, Clone)]
pub struct KafkaPublisher {
    tx: mpsc::Sender<Cmd>,
}

impl std::fmt::Debug for Cmd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cmd")
    }
}

impl KafkaPublisher {
    /// Opens (recovering) the spool, creates the producer and starts the task.
    /// `source` is the CloudEvents `source` (the gateway instance). The
    /// `kafka` dependency is declared not required in `readiness`.
    pub fn start(
        config: &KafkaConfig,
        source: String,
        metrics: KafkaMetrics,
        readiness: Option<Arc<Readiness>>,
    ) -> Result<Self, KafkaError> {
        let spool = Spool::open(&config.spool_dir, config.spool_options()).map_err(|source| {
            KafkaError::Spool {
                dir: config.spool_dir.display().to_string(),
                source,
            }
        })?;
        let context = Context::default();
        let producer = config
            .client_config()
            .create_with_context(context.clone())?;
        if let Some(r) = &readiness {
            r.register("kafka", false);
        }
        let (tx, rx) = mpsc::channel(16 * 1024);
        let driver = driver::Driver::new(
            config.clone(),
            source,
            spool,
            producer,
            context,
            metrics,
            readiness,
        );
        tokio::spawn(driver.run(rx));
        Ok(Self { tx })
    }

    /// Waits until every event published before the call is acknowledged by
    /// the broker, or `timeout` passes; true if all were.
    pub async fn flush(&self, timeout: Duration) -> bool {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Cmd::Flush(tx)).await.is_err() {
            return false;
        }
        matches!(tokio::time::timeout(timeout, rx).await, Ok(Ok(())))
    }

    /// Syncs the spool and stops the task; what the broker has not acknowledged
    /// is sent by the next publisher opened on the same spool.
    pub async fn close(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Cmd::Close(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }
}

impl EventPublisher for KafkaPublisher {
    fn publish(&self, event: CallEvent) -> BoxFuture<'_, Result<(), PublishError>> {
        Box::pin(async move {
            let (tx, rx) = oneshot::channel();
            self.tx
                .send(Cmd::Event(Box::new(event), tx))
                .await
                .map_err(|_| PublishError::Stopped)?;
            rx.await.map_err(|_| PublishError::Stopped)?
        })
    }
}
