//! Agent orchestrator adapters: the HTTP client for the external orchestrator
//! and the built-in agent used when none is configured.
mod config;
mod decode;
mod lines;
mod sse;
mod wire;

pub use config::OrchestratorConfig;
