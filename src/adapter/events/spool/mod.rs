//! A bounded on-disk spool of event payloads: what the Kafka publisher has
//! accepted but the broker has not yet acknowledged.
//!
//! Layout of the directory: segment files `<first sequence number>.seg`, each a
//! run of length-prefixed, CRC32-checked records, and a `committed` file with
//! the first sequence number the broker has not acknowledged. Drive it so:
//! [`Spool::open`] (recovers after a crash, dropping a torn last record), then
//! [`Spool::append`] + [`Spool::flush`] per batch of events, [`Spool::sync`] on
//! a timer, [`Spool::read_next`] to send in order, [`Spool::commit`] as acks
//! arrive and [`Spool::rewind`] after a failed send. No task, no clock: the
//! owner decides when to sync and commit.

mod log;
mod record;
mod segment;
#[cfg(test)]
mod tests;

pub use log::Spool;

/// Limits and durability of a spool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpoolOptions {
    /// Unacknowledged bytes (frames included) it may hold; beyond, appends are
    /// refused with [`SpoolError::Full`]. Acknowledged records still on disk
    /// (at most about one segment) do not count.
    pub max_bytes: u64,
    /// A segment is closed and a new one started beyond this size.
    pub segment_bytes: u64,
    /// Records between fsyncs (the owner also syncs on a timer).
    pub fsync_every: usize,
}

impl Default for SpoolOptions {
    fn default() -> Self {
        Self {
            max_bytes: 1024 * 1024 * 1024,
            segment_bytes: 64 * 1024 * 1024,
            fsync_every: 256,
        }
    }
}

/// Why a record was not appended.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    /// The spool holds its maximum of unacknowledged bytes: the broker has been
    /// away too long. An alert, not a drop: the caller gets the error.
    #[error("spool full: {pending_bytes} bytes pending, limit {max_bytes}")]
    Full {
        /// Unacknowledged bytes held.
        pending_bytes: u64,
        /// The configured bound.
        max_bytes: u64,
    },
    /// One record larger than the spool accepts (1 MiB).
    #[error("event of {0} bytes is too large to spool")]
    TooLarge(usize),
    /// The disk failed.
    #[error("spool I/O: {0}")]
    Io(#[from] std::io::Error),
}
