//! The directory's background task: one dedicated connection that `LISTEN`s
//! on `did_changed` and reloads the whole table on each signal. After any
//! connection loss it reconnects with backoff and reloads everything, since
//! notifications sent while it was away are lost for good.

use super::{
    PostgresConfig,
    directory::Cache,
    routes::{DidRow, RouteTable},
};
use crate::application::health::{DependencyState, Readiness};
use futures_util::StreamExt;
use std::{sync::Arc, time::Duration};
use tokio::sync::mpsc;
use tokio_postgres::{AsyncMessage, Client};

const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// The task's clocks, from the configuration.
#[derive(Debug, Clone, Copy)]
pub(super) struct Timing {
    refresh: Duration,
    query_timeout: Duration,
    max_backoff: Duration,
}

impl From<&PostgresConfig> for Timing {
    fn from(c: &PostgresConfig) -> Self {
        Self {
            refresh: c.refresh_interval,
            query_timeout: c.connect_timeout,
            max_backoff: c.max_backoff.max(FIRST_BACKOFF),
        }
    }
}

/// Runs until aborted.
pub(super) async fn run(
    driver: super::Driver,
    timing: Timing,
    cache: Arc<Cache>,
    readiness: Arc<Readiness>,
) {
    let mut backoff = FIRST_BACKOFF;
    loop {
        let problem = listen(&driver, timing, &cache, &readiness, &mut backoff).await;
        let state = if cache.is_loaded() {
            DependencyState::Degraded {
                detail: format!("serving cached routes: {problem}"),
            }
        } else {
            DependencyState::Down {
                detail: problem.clone(),
            }
        };
        readiness.set(super::DEPENDENCY, state);
        tracing::warn!(%problem, retry_in = ?backoff, "postgres route listener lost; reconnecting");
        // Backoff between reconnect attempts, not synchronisation.
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(timing.max_backoff);
    }
}

/// One connection's life; returns why it ended.
async fn listen(
    driver: &super::Driver,
    timing: Timing,
    cache: &Cache,
    readiness: &Readiness,
    backoff: &mut Duration,
) -> String {
    let (client, mut conn) = match driver.config.connect(driver.tls.clone()).await {
        Ok(c) => c,
        Err(e) => return e.to_string(),
    };
    let (tx, mut signals) = mpsc::unbounded_channel::<()>();
    // Notifications arrive only through `poll_message`, which also drives the
    // client's queries; the task ends (dropping `tx`) when the connection does.
    let driver_task = tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| conn.poll_message(cx));
        while let Some(m) = messages.next().await {
            match m {
                Ok(AsyncMessage::Notification(_)) => {
                    if tx.send(()).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!(error = %e, "postgres listening connection failed");
                    return;
                }
            }
        }
    });
    let _abort = AbortOnDrop(driver_task);
    // LISTEN before loading: a change committed between the two still signals.
    if let Err(e) = client.batch_execute("LISTEN did_changed").await {
        return e.to_string();
    }
    match load(&client, timing).await {
        // Readiness first: whoever sees the new table also sees `Up`.
        Ok(table) => {
            readiness.set(super::DEPENDENCY, DependencyState::Up);
            cache.replace(table);
        }
        Err(e) => return e,
    }
    *backoff = FIRST_BACKOFF;
    let mut refresh = tokio::time::interval(timing.refresh);
    refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    refresh.tick().await; // the first tick is immediate; we just loaded
    loop {
        tokio::select! {
            signal = signals.recv() => {
                if signal.is_none() {
                    return "connection closed".into();
                }
                // A burst of changes (a bulk import) needs one reload, not one per row.
                while signals.try_recv().is_ok() {}
            }
            // Also proves the connection alive: a half-open one fails the timeout.
            _ = refresh.tick() => {}
        }
        match load(&client, timing).await {
            Ok(table) => cache.replace(table),
            Err(e) => return e,
        }
    }
}

async fn load(client: &Client, timing: Timing) -> Result<RouteTable, String> {
    let query = client.query(
        "SELECT d.did_pattern, d.tenant_id, d.agent_id, d.greeting, d.language, d.stt, d.tts, \
         d.stt_fallback, d.tts_fallback, d.transport, d.format, \
         COALESCE(t.store_transcripts, true) \
         FROM dids d LEFT JOIN tenants t ON t.id = d.tenant_id",
        &[],
    );
    let rows = match tokio::time::timeout(timing.query_timeout, query).await {
        Ok(Ok(rows)) => rows,
        Ok(Err(e)) => return Err(e.to_string()),
        Err(_) => {
            return Err(format!(
                "reload took longer than {:?}",
                timing.query_timeout
            ));
        }
    };
    let rows = rows.iter().filter_map(|r| {
        let row = DidRow {
            pattern: r.try_get(0).ok()?,
            tenant: r.try_get(1).ok()?,
            agent: r.try_get(2).ok()?,
            greeting: r.try_get(3).ok()?,
            language: r.try_get(4).ok()?,
            stt: r.try_get(5).ok()?,
            tts: r.try_get(6).ok()?,
            stt_fallback: r.try_get(7).ok()?,
            tts_fallback: r.try_get(8).ok()?,
            transport: r.try_get(9).ok()?,
            format: r.try_get(10).ok()?,
            store_transcripts: r.try_get(11).ok()?,
        };
        Some(row)
    });
    let table = RouteTable::build(rows);
    tracing::debug!(routes = table.len(), "did routes loaded");
    Ok(table)
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
