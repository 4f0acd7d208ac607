//! `CallHistory` in `call_records`: one insert per ended call.

use super::{PgError, PostgresConfig, driver_config};
use crate::{
    application::ports::{
        Cause,
        history::{CallHistory, CallRecord, HistoryError, TurnRecord},
        orchestrator::BoxFuture,
    },
    domain::{
        CallId, TenantId,
        call::{Direction, EndReason},
    },
};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::Row;

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

/// One record by its id; the caller checks the tenant.
const SELECT: &str = "
    SELECT tenant_id, direction, from_number, to_number, started_at,
        answered_at, ended_at, outcome, reason, turns
    FROM call_records WHERE call_id = $1";

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

    /// The stored record of `id`, whatever its tenant.
    pub(super) async fn select(&self, id: &CallId) -> Result<Option<CallRecord>, HistoryError> {
        let unavailable = |e: PgError| HistoryError::Unavailable(Cause::new(e));
        let client = self.pool.get().await.map_err(|e| unavailable(e.into()))?;
        let stmt = client
            .prepare_cached(SELECT)
            .await
            .map_err(|e| unavailable(e.into()))?;
        let row = client
            .query_opt(&stmt, &[&id.as_str()])
            .await
            .map_err(|e| unavailable(e.into()))?;
        row.map(|r| from_row(id, &r)).transpose()
    }
}

/// A row back into a record: the reason from its label (and, for an
/// error, its text), the turns from their JSON.
fn from_row(id: &CallId, r: &Row) -> Result<CallRecord, HistoryError> {
    let corrupt = |what: &str, e: &dyn std::fmt::Display| {
        HistoryError::Corrupt(format!("call_records {id}: {what}: {e}"))
    };
    let column = |e: tokio_postgres::Error| corrupt("column", &e);
    let tenant: String = r.try_get(0).map_err(column)?;
    let direction = match r.try_get::<_, &str>(1).map_err(column)? {
        "outbound" => Direction::Outbound,
        _ => Direction::Inbound,
    };
    let outcome: String = r.try_get(7).map_err(column)?;
    let detail: Option<String> = r.try_get(8).map_err(column)?;
    let turns: serde_json::Value = r.try_get(9).map_err(column)?;
    Ok(CallRecord {
        call_id: id.clone(),
        tenant: TenantId::parse(tenant).map_err(|e| corrupt("tenant_id", &e))?,
        direction,
        from: r.try_get(2).map_err(column)?,
        to: r.try_get(3).map_err(column)?,
        started_at: r.try_get(4).map_err(column)?,
        answered_at: r.try_get(5).map_err(column)?,
        ended_at: r.try_get(6).map_err(column)?,
        reason: end_reason(&outcome, detail.as_deref())
            .ok_or_else(|| corrupt("outcome", &outcome))?,
        turns: serde_json::from_value::<Vec<TurnRecord>>(turns)
            .map_err(|e| corrupt("turns", &e))?,
    })
}

/// The reason an `outcome` label and `reason` text were written from.
fn end_reason(outcome: &str, detail: Option<&str>) -> Option<EndReason> {
    if outcome == "error" {
        let text = detail.unwrap_or_default();
        return Some(EndReason::Error(
            text.strip_prefix("error: ").unwrap_or(text).to_owned(),
        ));
    }
    serde_json::from_value(serde_json::Value::String(outcome.to_owned())).ok()
}

impl CallHistory for PgHistory {
    fn record(&self, record: CallRecord) -> BoxFuture<'_, Result<(), HistoryError>> {
        Box::pin(async move {
            let call = record.call_id.clone();
            self.insert(record).await.map_err(|e| {
                tracing::warn!(call_id = %call, error = %e, "call record not written");
                HistoryError::Unavailable(Cause::new(e))
            })
        })
    }

    fn find<'a>(
        &'a self,
        id: &'a CallId,
    ) -> BoxFuture<'a, Result<Option<CallRecord>, HistoryError>> {
        Box::pin(self.select(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_end_reason_reads_back_from_its_label_and_text() {
        for reason in [
            EndReason::CallerHangup,
            EndReason::AgentHangup,
            EndReason::Transferred,
            EndReason::Busy,
            EndReason::NoAnswer,
            EndReason::Failed,
            EndReason::Silence,
            EndReason::UnknownDid,
            EndReason::AtCapacity,
            EndReason::ChannelLost,
            EndReason::Shutdown,
            EndReason::GatewayRestart,
            EndReason::AnsweringMachine,
            EndReason::Error("stt: gone".into()),
        ] {
            let back = end_reason(&reason.label(), Some(&reason.to_string()));
            assert_eq!(back, Some(reason));
        }
        assert_eq!(end_reason("struck_by_lightning", None), None);
    }
}
