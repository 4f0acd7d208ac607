//! Call stores. [`MemoryCallStore`] is the embedded default; [`RedisCallStore`]
//! shares live calls between gateway instances.

mod memory;
mod redis;

pub use self::redis::{Applied, RedisCallStore, RedisIdempotency, RedisStoreConfig, StoreMetrics};
pub use memory::MemoryCallStore;
