//! Adapters for the Wyoming protocol (Home Assistant / rhasspy), the embedded
//! default's local speech engines: Whisper (`scripts/whisper-server.py`) for STT and
//! `wyoming-piper` for TTS. Configure them with the servers' `--uri`, e.g.
//! `WyomingSttConfig::new("tcp://127.0.0.1:10300")` and
//! `WyomingTtsConfig::new("tcp://127.0.0.1:10200")`.
//!
//! Layers: [`codec`] is the sans-IO framing (bounded, typed errors),
//! [`messages`] the events we use, [`connection`] one framed TCP stream,
//! [`stt`] and [`tts`] the port adapters.

pub mod codec;
pub mod connection;
pub mod messages;
pub mod stt;
pub mod tts;

pub use stt::{WyomingStt, WyomingSttConfig};
pub use tts::{WyomingTts, WyomingTtsConfig};

#[cfg(test)]
mod codec_tests;
#[cfg(test)]
mod server_tests;
