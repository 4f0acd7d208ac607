//! The ARI events socket: one long-lived WebSocket per Stasis app, kept alive
//! across drops, with a resynchronisation after every (re)connect.
//!
//! What the real Asterisk does shapes this (see the fixtures' `10-*`):
//! - events raised while no socket is connected are lost, never replayed, so
//!   after every connect the stream asks Asterisk what still exists
//!   ([`StreamItem::Resynced`]) and the call registry reconciles;
//! - a second socket for the same app takes it over: the first receives
//!   `ApplicationReplaced` and then stays open but silent. Reconnecting would
//!   steal the app back and start a tug of war between two gateways, so the
//!   stream stops with [`StreamItem::Replaced`], marks the dependency down and
//!   leaves the decision to the operator;
//! - a restart drops the socket without a close frame (1006), and a half-open
//!   TCP connection sends nothing at all: pings with a deadline find both.
//!
//! The stream delivers events in socket order on one channel, which keeps each
//! channel's events in order; routing to per-call tasks is the consumer's job.

mod backoff;
mod connection;
mod supervisor;
mod url;

#[cfg(test)]
mod tests;

pub use backoff::Backoff;
pub use supervisor::{EventStreamConfig, Resync, StreamItem, StreamMetrics, run, watch_channels};
pub use url::events_url;
