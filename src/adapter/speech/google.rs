//! Google Cloud: Speech-to-Text v2 streaming recognition over gRPC and
//! Text-to-Speech `text:synthesize` over REST, with an API key or a
//! service-account key file.

pub mod auth;
pub mod config;
pub mod proto;
mod results;
pub mod stt;
pub mod tts;

pub use auth::AuthError;
pub use config::{GoogleConfig, GoogleCredentials, SttEncoding, regional_stt_endpoint};
pub use stt::GoogleStt;
pub use tts::GoogleTts;

#[cfg(test)]
pub(crate) mod fake_grpc;
#[cfg(test)]
mod fallback_tests;
#[cfg(test)]
mod live_tests;
#[cfg(test)]
mod props;
#[cfg(test)]
mod stt_tests;
#[cfg(test)]
mod tts_tests;
