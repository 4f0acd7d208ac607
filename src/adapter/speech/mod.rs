//! Speech providers behind the `SpeechToText` / `TextToSpeech` ports
//! (`crate::application::ports::speech`).

pub mod aws;
pub mod azure;
pub mod catalog;
pub mod deepgram;
pub mod elevenlabs;
pub mod fake;
pub mod fallback;
pub mod google;
pub mod openai;
pub(crate) mod pieces;
pub mod prompt;
pub mod wyoming;
