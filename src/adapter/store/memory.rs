//! Call records in this process's memory.
//!
//! Live calls stay until they end; ended calls are kept for `retain_ended` so
//! API clients can read the outcome, and at most `max_ended` of them, oldest
//! dropped first, so memory stays bounded however many calls pass through.

use crate::{
    application::ports::{
        calls::{CallSummary, ListFilter, Page},
        orchestrator::BoxFuture,
        store::{CallStore, StoreError},
    },
    domain::{CallId, TenantId},
};
use std::{
    collections::{HashMap, VecDeque},
    sync::Mutex,
    time::{Duration, SystemTime},
};

/// In-memory [`CallStore`].
#[derive(Debug)]
pub struct MemoryCallStore {
    inner: Mutex<Inner>,
    retain_ended: Duration,
    max_ended: usize,
}

#[derive(Debug, Default)]
struct Inner {
    records: HashMap<(TenantId, CallId), CallSummary>,
    /// Ended calls in the order they ended, for expiry.
    ended: VecDeque<(TenantId, CallId)>,
}

impl Default for MemoryCallStore {
    fn default() -> Self {
        Self::new(Duration::from_secs(3600), 10_000)
    }
}

impl MemoryCallStore {
    /// A store keeping ended calls for `retain_ended`, at most `max_ended` of them.
    pub fn new(retain_ended: Duration, max_ended: usize) -> Self {
        Self {
            inner: Mutex::default(),
            retain_ended,
            max_ended,
        }
    }

    fn expire(&self, inner: &mut Inner, now: SystemTime) {
        while let Some(key) = inner.ended.front() {
            let old = inner
                .records
                .get(key)
                .and_then(|r| r.ended_at)
                .is_none_or(|t| now.duration_since(t).unwrap_or_default() > self.retain_ended);
            if old || inner.ended.len() > self.max_ended {
                let key = inner.ended.pop_front().expect("front exists");
                if inner
                    .records
                    .get(&key)
                    .is_some_and(|r| r.ended_at.is_some())
                {
                    inner.records.remove(&key);
                }
            } else {
                break;
            }
        }
    }
}

impl CallStore for MemoryCallStore {
    fn put(&self, record: CallSummary) -> BoxFuture<'_, Result<(), StoreError>> {
        let mut inner = self.inner.lock().expect("store lock");
        let key = (record.tenant_id.clone(), record.call_id.clone());
        let newly_ended = record.ended_at.is_some()
            && inner.records.get(&key).is_none_or(|r| r.ended_at.is_none());
        inner.records.insert(key.clone(), record);
        if newly_ended {
            inner.ended.push_back(key);
        }
        self.expire(&mut inner, SystemTime::now());
        Box::pin(async { Ok(()) })
    }

    fn get<'a>(
        &'a self,
        tenant: &'a TenantId,
        call: &'a CallId,
    ) -> BoxFuture<'a, Result<Option<CallSummary>, StoreError>> {
        let found = self
            .inner
            .lock()
            .expect("store lock")
            .records
            .get(&(tenant.clone(), call.clone()))
            .cloned();
        Box::pin(async move { Ok(found) })
    }

    fn list<'a>(
        &'a self,
        tenant: &'a TenantId,
        filter: &'a ListFilter,
    ) -> BoxFuture<'a, Result<Page, StoreError>> {
        let inner = self.inner.lock().expect("store lock");
        let mut calls: Vec<CallSummary> = inner
            .records
            .values()
            .filter(|r| &r.tenant_id == tenant)
            .filter(|r| filter.state.as_ref().is_none_or(|s| &r.state == s))
            .cloned()
            .collect();
        drop(inner);
        // Newest first; the call id breaks ties so pages are stable.
        calls.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then(b.call_id.cmp(&a.call_id))
        });
        let start = filter
            .cursor
            .as_ref()
            .and_then(|c| {
                calls
                    .iter()
                    .position(|r| r.call_id.as_str() == c)
                    .map(|i| i + 1)
            })
            .unwrap_or(0);
        let limit = filter.limit.clamp(1, 100);
        let page: Vec<CallSummary> = calls.iter().skip(start).take(limit).cloned().collect();
        let next_cursor = (start + page.len() < calls.len())
            .then(|| page.last().map(|r| r.call_id.to_string()))
            .flatten();
        Box::pin(async move {
            Ok(Page {
                calls: page,
                next_cursor,
            })
        })
    }

    /// Every live record: a process's memory holds only its own calls.
    fn owned_live(&self, max: usize) -> BoxFuture<'_, Result<Vec<CallSummary>, StoreError>> {
        let inner = self.inner.lock().expect("store lock");
        let live: Vec<CallSummary> = inner
            .records
            .values()
            .filter(|r| r.ended_at.is_none())
            .take(max)
            .cloned()
            .collect();
        Box::pin(async move { Ok(live) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::call::Direction;

    fn rec(tenant: &str, id: &str, secs: u64, ended: Option<u64>) -> CallSummary {
        let t = |s| SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + s);
        CallSummary {
            call_id: CallId::parse(id).unwrap(),
            tenant_id: TenantId::parse(tenant).unwrap(),
            direction: Direction::Inbound,
            state: if ended.is_some() {
                "ended".into()
            } else {
                "active".into()
            },
            from: None,
            to: None,
            agent_id: None,
            agent_version: None,
            created_at: t(secs),
            answered_at: None,
            ended_at: ended.map(t),
            end_reason: None,
            metadata: Default::default(),
            answered_by: None,
            resume: None,
        }
    }

    #[tokio::test]
    async fn tenants_see_only_their_calls_newest_first_in_pages() {
        let store = MemoryCallStore::default();
        for i in 0..5 {
            store
                .put(rec("a", &format!("a{i}"), i, None))
                .await
                .unwrap();
        }
        store.put(rec("b", "b0", 10, None)).await.unwrap();
        let a = TenantId::parse("a").unwrap();
        assert!(
            store
                .get(&a, &CallId::parse("b0").unwrap())
                .await
                .unwrap()
                .is_none(),
            "no cross-tenant read"
        );
        let p1 = store
            .list(
                &a,
                &ListFilter {
                    limit: 2,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let ids: Vec<_> = p1.calls.iter().map(|c| c.call_id.to_string()).collect();
        assert_eq!(ids, ["a4", "a3"]);
        let p2 = store
            .list(
                &a,
                &ListFilter {
                    limit: 2,
                    cursor: p1.next_cursor,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(p2.calls[0].call_id.as_str(), "a2");
        let p3 = store
            .list(
                &a,
                &ListFilter {
                    limit: 2,
                    cursor: p2.next_cursor,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(p3.calls.len(), 1);
        assert_eq!(p3.next_cursor, None);
        let active = ListFilter {
            state: Some("ended".into()),
            limit: 10,
            cursor: None,
        };
        assert!(store.list(&a, &active).await.unwrap().calls.is_empty());
    }

    #[tokio::test]
    async fn ended_calls_are_bounded() {
        let store = MemoryCallStore::new(Duration::from_secs(3600 * 24 * 365 * 100), 3);
        for i in 0..10 {
            store
                .put(rec("a", &format!("c{i}"), i, Some(i + 1)))
                .await
                .unwrap();
        }
        let a = TenantId::parse("a").unwrap();
        let all = store
            .list(
                &a,
                &ListFilter {
                    limit: 100,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(all.calls.len(), 3, "only the newest ended calls are kept");
        assert_eq!(all.calls[0].call_id.as_str(), "c9");
    }
}
