//! Ports: the traits adapters implement. The application depends on these,
//! never on an adapter.

pub mod calls;
mod cause;
pub use cause::Cause;
pub mod directory;
pub mod events;
pub mod history;
pub mod lease;
pub mod media;
pub mod orchestrator;
pub mod peers;
pub mod speech;
pub mod store;
pub mod telephony;
pub mod traces;
