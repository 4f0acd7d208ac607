//! Ports (traits) and use cases. Depends on the domain, never on an adapter.

pub mod admission;
pub mod console;
pub mod dial;
pub mod dialing;
pub mod dtmf_merge;
pub mod health;
pub mod lease;
pub mod live_calls;
pub(crate) mod maps;
pub mod own_ids;
pub mod ports;
pub mod router;
pub mod sentences;
pub mod session;
pub mod shutdown;
