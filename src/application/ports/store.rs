//! The call store port: the live (and recently ended) call records that any
//! gateway instance can read. The embedded default keeps them in memory; the
//! Redis store comes with the data work.

use super::{
    calls::{CallSummary, ListFilter, Page},
    orchestrator::BoxFuture,
};
use crate::domain::{CallId, TenantId};

/// Why the store failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The backing store is unreachable.
    #[error("call store unavailable: {0}")]
    Unavailable(#[source] super::Cause),
}

/// Call records, scoped by tenant.
pub trait CallStore: Send + Sync {
    /// Writes a record (the whole record: the last write wins).
    fn put(&self, record: CallSummary) -> BoxFuture<'_, Result<(), StoreError>>;
    /// One record of the tenant.
    fn get<'a>(
        &'a self,
        tenant: &'a TenantId,
        call: &'a CallId,
    ) -> BoxFuture<'a, Result<Option<CallSummary>, StoreError>>;
    /// The tenant's records, newest first.
    fn list<'a>(
        &'a self,
        tenant: &'a TenantId,
        filter: &'a ListFilter,
    ) -> BoxFuture<'a, Result<Page, StoreError>>;
    /// The calls this instance's records name as its own and not ended:
    /// after a crash, what the process that died left live (at most `max`).
    fn owned_live(&self, max: usize) -> BoxFuture<'_, Result<Vec<CallSummary>, StoreError>>;
    /// The live calls another instance's records name as its own (at most
    /// `max`): what a standby takes over when that instance's lease lapsed.
    /// Stores that only know this process (memory) know none.
    fn live_of<'a>(
        &'a self,
        instance: &'a str,
        max: usize,
    ) -> BoxFuture<'a, Result<Vec<CallSummary>, StoreError>> {
        let _ = (instance, max);
        Box::pin(async { Ok(Vec::new()) })
    }
}
