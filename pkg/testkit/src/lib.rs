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
//!
//! [`AsteriskServer`] runs a real Asterisk 20 (built once from source, see
//! [`asterisk_prefix`]) with ARI, chan_sip and a test dialplan. Its test
//! [`Caller`]s call *into* the Stasis app through Local channels, like an
//! inbound call to a DID, and record what they heard and said; [`wav`] reads
//! those recordings and finds where there is sound. [`SipPhone`] is a real
//! SIP phone (baresip) for end-to-end calls through chan_sip.
//!
//! ```no_run
//! use std::time::Duration;
//! use vg_testkit::{AsteriskServer, Caller};
//! let ast = AsteriskServer::start().unwrap();
//! // ... start the gateway against ast.ari_url() as app "voice-gateway" ...
//! let call = ast.call(Caller::listen("+15551234567").max_duration(Duration::from_secs(5))).unwrap();
//! let heard = call.heard(Duration::from_secs(15)).unwrap();
//! let spans = heard.spans(-45.0, Duration::from_millis(300));
//! ```

// The harness runs real programs in real time.
#![allow(clippy::disallowed_methods)]
#![warn(missing_docs)]

mod asterisk;
pub mod faults;
mod install;
mod kafka;
mod net;
mod postgres;
mod postgres_restart;
mod process;
mod redis;
mod sockets;
pub mod wav;
mod wyoming;

pub use asterisk::{
    AriClient, AsteriskOptions, AsteriskServer, Call, Caller, SIP_SECRET, SIP_USER, SipPhone,
    asterisk_prefix,
};
pub use install::{HarnessError, ensure_installed};
pub use kafka::{KafkaBroker, TANSU_VERSION, ensure_tansu, ensure_tansu_sqlite};
pub use net::{free_port, wait_until};
pub use postgres::PostgresServer;
pub use redis::RedisServer;
pub use sockets::{OpenSocket, is_loopback, open_sockets};
pub use wyoming::{SttServer, WyomingOptions, WyomingServers};
