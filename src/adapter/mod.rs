//! One module per outside thing. Adapters implement the application's ports.

pub mod ari;
pub mod config;
pub mod http;
pub mod telemetry;
pub mod ari_stream;
pub mod orchestrator;
pub mod directory;
pub mod events;
pub mod speech;
pub mod media;
pub mod store;
