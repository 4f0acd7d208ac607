//! OpenAI-compatible text-to-speech (`POST /v1/audio/speech`), which also
//! serves self-hosted servers implementing the same API.

pub mod tts;

pub use tts::{OpenAiTts, OpenAiTtsConfig};

#[cfg(test)]
mod tests;
