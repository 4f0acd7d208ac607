//! Agent orchestrator adapters: the HTTP client for the external orchestrator
//! and the built-in agent used when none is configured.
mod builtin;
mod client;
mod config;
mod decode;
mod lines;
mod reply;
mod sse;
mod wire;

pub use builtin::{BuiltinAgent, DEFAULT_GREETING};
pub use client::{ClientBuildError, HttpOrchestrator};
pub use config::OrchestratorConfig;
