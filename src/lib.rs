//! voice-gateway: a telephony media server that drives Asterisk over ARI and
//! bridges each call's audio to streaming speech engines and an agent orchestrator.
//!
//! Layers (see `DESIGN.md` in the shared folder): `domain` is pure and
//! synchronous, `application` holds the ports and use cases, `adapter` holds one
//! module per outside thing. The domain never imports an adapter.

// Unit tests read the clock to make their inputs; the library does not.
#![cfg_attr(test, allow(clippy::disallowed_methods))]

pub mod adapter;
pub mod application;
pub mod domain;
pub mod server;
