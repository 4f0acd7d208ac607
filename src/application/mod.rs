//! Ports (traits) and use cases. Depends on the domain, never on an adapter.

pub mod admission;
pub mod health;
pub mod ports;
