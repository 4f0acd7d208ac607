//! Test harness for real outside programs.
//!
//! Each server starts on a free loopback port in its own temporary directory,
//! is installed first if missing (Debian packages via `apt-get`, or `cargo
//! install` for Rust tools), and is stopped when its handle drops, so a test
//! never depends on anything left running on the machine.
//!
//! ```no_run
//! let redis = vg_testkit::RedisServer::start().unwrap();
//! let url = redis.url(); // redis://127.0.0.1:PORT/
//! ```
#![warn(missing_docs)]

mod install;
mod kafka;
mod net;
mod postgres;
mod postgres_restart;
mod process;
mod redis;
mod wyoming;

pub use install::{HarnessError, ensure_installed};
pub use kafka::{KafkaBroker, TANSU_VERSION, ensure_tansu};
pub use net::{free_port, wait_until};
pub use postgres::PostgresServer;
pub use redis::RedisServer;
pub use wyoming::{WyomingOptions, WyomingServers};
