//! ElevenLabs text-to-speech over the stream-input WebSocket.

mod messages;
pub mod tts;

pub use tts::{ElevenLabsConfig, ElevenLabsTts};

#[cfg(test)]
mod messages_props;
#[cfg(test)]
mod tests;
