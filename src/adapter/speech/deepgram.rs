//! Deepgram: live speech-to-text (`/v1/listen`) and Aura text-to-speech
//! (`/v1/speak`), both over WebSocket with `Authorization: Token <key>`.

pub mod config;
mod listen;
pub mod socket;
pub mod stt;
pub mod tts;

pub use config::DeepgramConfig;
pub use socket::ApiKey;
pub use stt::DeepgramStt;
pub use tts::DeepgramTts;

#[cfg(test)]
pub(crate) mod fake_ws;
#[cfg(test)]
mod listen_props;
#[cfg(test)]
mod stt_tests;
#[cfg(test)]
mod tts_tests;
