//! Speech providers behind the `SpeechToText` / `TextToSpeech` ports
//! (`crate::application::ports::speech`).

pub mod fake;
pub mod wyoming;
