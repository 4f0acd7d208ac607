//! The Redis call store and idempotency keys against a real redis-server,
//! one fresh server per test.

// Tests read the clock to make their inputs and to measure.
#![allow(clippy::disallowed_methods)]

mod common;
mod idempotency;
mod lease;
mod outage;
mod store;
mod versions;
