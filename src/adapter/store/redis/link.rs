//! Whether Redis is reachable, the writes waiting for it, and the task that
//! writes them back.
//!
//! While Redis is down every write goes to memory and to `pending` (the
//! newest version of each call only). The task retries with backoff; once a
//! `PING` answers it writes `pending` back through the versioned script, so
//! a newer record another instance wrote meanwhile is not overwritten, and
//! declares Redis up only when nothing is left, under the same lock writers
//! take: no write can slip between the last write-back and the switch. The
//! live calls of this process are written back too, in case Redis came back
//! empty.

use super::store::Shared;
use crate::{
    application::{health::DependencyState, ports::calls::CallSummary},
    domain::{CallId, TenantId},
};
use std::{collections::HashMap, sync::Arc, time::Duration};

/// Reachability and the writes Redis has not seen.
#[derive(Debug, Default)]
pub(super) struct Link {
    pub(super) up: bool,
    pending: HashMap<(TenantId, CallId), (u64, CallSummary)>,
    /// The newest write of each live call of this process: a Redis that
    /// comes back empty (restarted without persistence) gets them again.
    live: HashMap<(TenantId, CallId), (u64, CallSummary)>,
}

impl Link {
    /// Keeps a write for later, unless a newer one of the call is kept already.
    pub(super) fn keep(&mut self, version: u64, record: CallSummary) {
        let key = (record.tenant_id.clone(), record.call_id.clone());
        if self.pending.get(&key).is_none_or(|(v, _)| *v < version) {
            self.pending.insert(key, (version, record));
        }
    }

    /// Follows this process's live calls (every accepted write goes through here).
    pub(super) fn track(&mut self, version: u64, record: &CallSummary) {
        let key = (record.tenant_id.clone(), record.call_id.clone());
        if record.ended_at.is_some() {
            self.live.remove(&key);
        } else if self.live.get(&key).is_none_or(|(v, _)| *v < version) {
            self.live.insert(key, (version, record.clone()));
        }
    }

    /// Queues every live call for write-back; the versioned script makes
    /// those Redis still holds (or holds newer) a no-op.
    fn requeue_live(&mut self) {
        let live: Vec<_> = self.live.values().cloned().collect();
        for (version, record) in live {
            self.keep(version, record);
        }
    }

    /// Drops a written-back record, unless a newer write replaced it meanwhile.
    fn forget(&mut self, version: u64, record: &CallSummary) {
        let key = (record.tenant_id.clone(), record.call_id.clone());
        if self.pending.get(&key).is_some_and(|(v, _)| *v == version) {
            self.pending.remove(&key);
        }
    }

    pub(super) fn pending(&self) -> usize {
        self.pending.len()
    }
}

impl Shared {
    /// An operation failed: Redis counts as down until the task brings it back.
    pub(super) fn lost(&self, op: &'static str, error: &str) {
        self.metrics.error(op);
        let was_up = std::mem::replace(&mut self.lock().up, false);
        self.degraded(error);
        if was_up {
            tracing::warn!(%error, op, "redis lost: call records kept in memory");
            self.wake.notify_one();
        }
    }

    pub(super) fn degraded(&self, error: &str) {
        let n = self.lock().pending();
        self.metrics.pending(n);
        let detail = format!("redis unreachable ({error}); {n} call records kept in memory");
        self.readiness
            .set("redis", DependencyState::Degraded { detail });
    }
}

const FIRST_PAUSE: Duration = Duration::from_millis(50);
const BATCH: usize = 64;

/// Runs for the life of the store: waits for Redis to be lost, then brings it back.
pub(super) async fn run(s: Arc<Shared>) {
    loop {
        loop {
            let up = s.lock().up;
            if !up {
                break;
            }
            s.wake.notified().await;
        }
        let mut pause = FIRST_PAUSE;
        while !write_back(&s).await {
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(s.retry_max);
        }
    }
}

/// One attempt; `true` when everything is written and Redis is up again.
async fn write_back(s: &Shared) -> bool {
    s.metrics.op("writeback");
    if let Err(e) = s.backend.ping().await {
        s.metrics.error("writeback");
        s.degraded(&e);
        return false;
    }
    s.lock().requeue_live();
    loop {
        let batch: Vec<(u64, CallSummary)> = {
            let mut link = s.lock();
            if link.pending.is_empty() {
                link.up = true;
                s.readiness.set("redis", DependencyState::Up);
                tracing::info!("redis is back: call records written back");
                return true;
            }
            link.pending.values().take(BATCH).cloned().collect()
        };
        for (version, record) in batch {
            if let Err(e) = s.backend.put(&record, version).await {
                s.metrics.error("writeback");
                s.degraded(&e);
                return false;
            }
            let mut link = s.lock();
            link.forget(version, &record);
            s.metrics.written_back();
            s.metrics.pending(link.pending());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::call::Direction;
    use std::time::SystemTime;

    fn rec(state: &str) -> CallSummary {
        CallSummary {
            call_id: CallId::parse("c1").unwrap(),
            tenant_id: TenantId::parse("t").unwrap(),
            direction: Direction::Inbound,
            state: state.into(),
            from: None,
            to: None,
            agent_id: None,
            agent_version: None,
            created_at: SystemTime::UNIX_EPOCH,
            answered_at: None,
            ended_at: (state == "ended").then_some(SystemTime::UNIX_EPOCH),
            end_reason: None,
            metadata: Default::default(),
            answered_by: None,
            resume: None,
        }
    }

    #[test]
    fn pending_keeps_the_newest_write_and_live_calls_come_back() {
        let mut l = Link::default();
        l.keep(5, rec("active"));
        l.keep(3, rec("ringing"));
        assert_eq!(
            l.pending.values().next().unwrap().0,
            5,
            "older write ignored"
        );
        l.forget(3, &rec("ringing"));
        assert_eq!(
            l.pending(),
            1,
            "a write-back of an older version keeps the newer"
        );
        l.forget(5, &rec("active"));
        assert_eq!(l.pending(), 0);

        l.track(7, &rec("active"));
        l.requeue_live();
        assert_eq!(l.pending(), 1, "a live call is written back again");
        l.track(8, &rec("ended"));
        l.forget(7, &rec("active"));
        l.requeue_live();
        assert_eq!(l.pending(), 0, "an ended call is no longer live");
    }
}
