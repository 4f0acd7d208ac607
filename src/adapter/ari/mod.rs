//! ARI adapter: the REST client toward one Asterisk (its events socket is `adapter::ari_stream`).
//!
//! - [`AriClient`]: one method per ARI operation the gateway uses, with a timeout on
//!   every call, retries for reads only, and typed [`AriError`]s carrying Asterisk's
//!   status and message.
//! - [`spec`]: the catalogue of every request the client can make; the contract test
//!   checks it against Asterisk's Swagger description.
//! - Models (channels, bridges, events) come from the `ari` crate (`pkg/ari`).

mod bridges;
mod call;
mod channels;
mod client;
mod config;
mod error;
mod external_media;
mod media_control;
pub mod spec;
mod system;
pub(crate) mod telephony;

#[cfg(test)]
mod tests;

pub use channels::{
    DialplanTarget, DtmfTiming, HangupReason, IfExists, Originate, Record, Snoop, SnoopDirection,
    TerminateOn,
};
pub use client::{AriClient, IDLE_CONNECTIONS};
pub use config::{AriClientConfig, RetryPolicy};
pub use error::AriError;
pub use external_media::{
    ExternalMedia, ExternalMediaInfo, ExternalMediaTransport, MediaFormat, WebSocketConnection,
};
pub use spec::{HttpMethod, RequestSpec};
