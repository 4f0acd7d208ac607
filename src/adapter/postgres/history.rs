//! `CallHistory` in `call_records`: one insert per ended call.

use super::{PgError, PostgresConfig, driver_config};
use crate::application::ports::{
    history::{CallHistory, CallRecord, HistoryError},
    orchestrator::BoxFuture,
};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};

/// Writes call records through a small pool. Connections are made on first
/// use, so the gateway starts while the database is down; a write then fails
/// with [`HistoryError::Unavailable`] and the caller decides to retry or log.
#[derive(Debug, Clone)]
pub struct PgHistory {
    pool: Pool,
}

/// The tenant's `store_transcripts` is read in the same statement as the
/// insert, so turning it off applies to the very next call. Unknown tenants
/// (routed from the configuration file) store transcripts, masked.
const INSERT: &str = "
    INSERT INTO call_records (call_id, tenant_id, direction, from_number, to_number,
        started_at, answered_at, ended_at, outcome, reason, turns)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
        CASE WHEN COALESCE((SELECT store_transcripts FROM tenants WHERE id = $2), true)
             THEN $11::jsonb ELSE $12::jsonb END)
    ON CONFLICT (call_id) DO NOTHING";

impl PgHistory {
    /// A pool of `pool_size` connections to `url`; connects lazily.
    pub fn new(cfg: &PostgresConfig) -> Result<Self, PgError> {
        let driver = driver_config(cfg)?;
        let manager = Manager::from_config(
            driver.config,
            driver.tls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(cfg.pool_size.max(1))
            .wait_timeout(Some(cfg.connect_timeout))
            .create_timeout(Some(cfg.connect_timeout))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| PgError::BadUrl(e.to_string()))?;
        Ok(Self { pool })
    }

    pub(super) async fn insert(&self, record: CallRecord) -> Result<(), PgError> {
        let record = record.masked();
        let turns = serde_json::to_value(&record.turns).unwrap_or_default();
        let bare =
            serde_json::to_value(&record.clone().without_transcripts().turns).unwrap_or_default();
        let direction = match record.direction {
            crate::domain::call::Direction::Inbound => "inbound",
            crate::domain::call::Direction::Outbound => "outbound",
        };
        let client = self.pool.get().await?;
        let stmt = client.prepare_cached(INSERT).await?;
        client
            .execute(
                &stmt,
                &[
                    &record.call_id.as_str(),
                    &record.tenant.as_str(),
                    &direction,
                    &record.from,
                    &record.to,
                    &record.started_at,
                    &record.answered_at,
                    &record.ended_at,
                    &record.outcome(),
                    &record.reason.to_string(),
                    &turns,
                    &bare,
                ],
            )
            .await?;
        Ok(())
    }
}

impl CallHistory for PgHistory {
    fn record(&self, record: CallRecord) -> BoxFuture<'_, Result<(), HistoryError>> {
        Box::pin(async move {
            let call = record.call_id.clone();
            self.insert(record).await.map_err(|e| {
                tracing::warn!(call_id = %call, error = %e, "call record not written");
                HistoryError::Unavailable(crate::application::ports::Cause::new(e))
            })
        })
    }
}
