//! Call stores. [`MemoryCallStore`] is the embedded default; [`RedisCallStore`]
//! shares live calls between gateway instances.

mod memory;
mod redis;

pub use self::redis::{
    Applied, RedisCallStore, RedisIdempotency, RedisLease, RedisPeers, RedisStoreConfig,
    StoreMetrics, valid_lease_name,
};
pub use memory::MemoryCallStore;
