//! The Redis call store: one record per live call, shared by every gateway
//! instance, so a standby can take calls over and the HTTP API can answer from
//! any instance.
//!
//! What lives in Redis (`P` is the key prefix, `vg` by default):
//! - `P:{tenant}:call:{call}`: a hash with the record (`record`, JSON of the
//!   call summary plus the owning gateway instance and the version), and
//!   `v`, `state`, `ended`, `gw` for the scripts; expires `ended_ttl` after
//!   the call ends;
//! - `P:{tenant}:live`, `P:gw:{instance}:live`: the live calls of a tenant and
//!   of a gateway instance (sorted by creation time);
//! - `P:{tenant}:calls`: every call still readable (live, or ended within its
//!   TTL), newest first, for listing; `P:{tenant}:ended` holds when each ended
//!   call leaves it;
//! - `P:{tenant}:idem:{key}`: the API's idempotency keys;
//! - `P:ha:{asterisk}:…`: the lease of each Asterisk (see [`RedisLease`]);
//! - `P:gw:{instance}:api`: the call API URL an instance advertises (`[ha]`,
//!   see [`RedisPeers`]).
//!
//! Writes carry a version and go through one Lua script that compares and
//! sets, so an older write never replaces a newer one and nothing revives an
//! ended call. When Redis is unreachable, calls go on from memory and the
//! records are written back when it returns (see [`RedisCallStore`]).

mod backend;
mod config;
mod idempotency;
mod keys;
mod lease;
mod link;
mod metrics;
mod peers;
mod record;
mod scripts;
mod store;
mod version;

pub use backend::Applied;
pub use config::RedisStoreConfig;
pub use idempotency::RedisIdempotency;
pub use lease::{RedisLease, valid_name as valid_lease_name};
pub use metrics::StoreMetrics;
pub use peers::RedisPeers;
pub use store::RedisCallStore;
