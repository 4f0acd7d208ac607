//! The lease port: one holder at a time per Asterisk, with a fencing token
//! that grows with every new holder (see `application::lease`).

use super::orchestrator::BoxFuture;

/// What one attempt to take or renew the lease found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// This instance holds the lease under this fencing token (taken now, or renewed).
    Held(u64),
    /// Another holder has it (or, after the store lost its data, the lease
    /// is in its grace period for the previous holder to come back).
    Taken,
}

/// Why the lease store did not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeaseError {
    /// The store could not be reached in time.
    #[error("lease store unavailable: {0}")]
    Unavailable(String),
}

/// A lease with a time to live, shared by every instance that serves one Asterisk.
pub trait LeaseStore: Send + Sync {
    /// Takes the lease when free, or renews it when `held` is the token this
    /// instance holds it under (0: none). `ttl_ms`: how long it stays
    /// without renewal.
    fn try_hold(&self, held: u64, ttl_ms: u64) -> BoxFuture<'_, Result<Attempt, LeaseError>>;
    /// Gives the lease up at once if `held` still holds it.
    fn release(&self, held: u64) -> BoxFuture<'_, Result<(), LeaseError>>;
    /// Every instance that ever tried this lease (this one included): whose
    /// live calls a new holder looks for.
    fn members(&self) -> BoxFuture<'_, Result<Vec<String>, LeaseError>>;
    /// Whether another instance tried the lease within the last `within_ms`
    /// (a standby, alive, ready to take the calls of a planned handover).
    fn standby_present(&self, within_ms: u64) -> BoxFuture<'_, Result<bool, LeaseError>>;
}
