//! Azure Speech: real-time recognition over the Speech SDK's WebSocket
//! protocol and synthesis over the REST endpoint with chunked raw audio,
//! both with `Ocp-Apim-Subscription-Key`, or `Authorization: Bearer` when
//! `[speech.azure] token` is set.

pub mod config;
mod connection;
pub mod fake;
mod messages;
pub mod stt;
pub mod tts;
pub mod wire;

pub use config::AzureConfig;
pub use stt::AzureStt;
pub use tts::AzureTts;

#[cfg(test)]
mod fallback_tests;
#[cfg(test)]
mod live_tests;
#[cfg(test)]
mod messages_props;
#[cfg(test)]
mod stt_tests;
#[cfg(test)]
mod token_tests;
#[cfg(test)]
mod tts_tests;
