//! OpenAI: text-to-speech over `POST /v1/audio/speech` (which also serves
//! self-hosted servers implementing the same API), and speech-to-text over
//! the Realtime API's transcription sessions or `POST /v1/audio/transcriptions`.

mod items;
pub(crate) mod realtime;
mod rest;
pub mod stt;
pub mod stt_config;
pub mod tts;

pub use stt::OpenAiStt;
pub use stt_config::{OpenAiSttConfig, SttMode};
pub use tts::{OpenAiTts, OpenAiTtsConfig};

#[cfg(test)]
#[path = "../../../tests/common/openai_fake.rs"]
pub(crate) mod fake_server;
#[cfg(test)]
mod stt_props;
#[cfg(test)]
mod stt_tests;
#[cfg(test)]
mod tests;
