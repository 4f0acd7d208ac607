//! Typed models for the Asterisk REST Interface (ARI 8.0.0 as served by Asterisk 20.20.1).
//!
//! No I/O and no tokio: the REST client and the event stream live in the gateway's
//! `adapter::ari`, and the simulator in its own crate.
#![warn(missing_docs)]
