//! The Redis call store and idempotency keys against a real redis-server,
//! one fresh server per test.

mod common;
mod idempotency;
mod outage;
mod store;
mod versions;
