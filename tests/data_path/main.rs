//! The gateway end to end on its shared engines: real redis-server, a tansu
//! Kafka broker and PostgreSQL from `vg_testkit` on free ports (a fresh
//! topic and database per test), calls placed through the Asterisk simulator.

// Tests read the clock to make their inputs and to measure.
#![allow(clippy::disallowed_methods)]

mod call;
mod crash;
#[path = "../common/kafka.rs"]
mod kafka;
#[path = "../common/metrics.rs"]
mod metrics;
#[path = "../common/process.rs"]
mod process;
#[path = "../common/schemas.rs"]
mod schemas;
mod shared;
mod support;
mod tls;
#[path = "../common/tls.rs"]
mod tls_kit;
