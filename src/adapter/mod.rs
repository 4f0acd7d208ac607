//! One module per outside thing. Adapters implement the application's ports.

// Adapters own the outside world's IO, and its time.
#![allow(clippy::disallowed_methods)]

pub mod ami;
pub mod ari;
pub mod ari_stream;
pub mod config;
pub mod directory;
pub mod events;
pub mod http;
pub mod media;
pub mod orchestrator;
pub mod postgres;
pub mod speech;
pub mod store;
pub mod telemetry;
pub mod tls;
