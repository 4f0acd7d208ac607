//! `[speech]`: which provider serves each direction, and one sub-section per
//! provider with what it needs (`[speech.wyoming]`, then the cloud ones).
//! A provider's sub-section is read even when it is not selected, so a
//! mistake in it is reported before someone switches to it.

use serde::{Deserialize, Serialize};

/// A speech provider, named in `[speech] stt`/`tts`. Adding one: a variant
/// here, its sub-section in [`SpeechSection`], one arm in the server's wiring.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SpeechProvider {
    /// Local engines over the Wyoming protocol (the embedded default).
    Wyoming,
    /// In-process stand-ins: a tone-like voice and scripted recognition (tests, demos).
    Fake,
}

/// `[speech]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpeechSection {
    /// Speech-to-text provider.
    pub stt: SpeechProvider,
    /// Text-to-speech provider.
    pub tts: SpeechProvider,
    /// `[speech.wyoming]`
    pub wyoming: WyomingSection,
}

impl Default for SpeechSection {
    fn default() -> Self {
        Self {
            stt: SpeechProvider::Wyoming,
            tts: SpeechProvider::Wyoming,
            wyoming: WyomingSection::default(),
        }
    }
}

/// `[speech.wyoming]`: the local servers (`wyoming-faster-whisper`,
/// `wyoming-piper`); `make run` starts them on these addresses.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WyomingSection {
    /// Speech-to-text server, `tcp://HOST:PORT`.
    pub stt: String,
    /// Text-to-speech server, `tcp://HOST:PORT`.
    pub tts: String,
    /// Piper voice to ask for; absent: the server's own `--voice`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub voice: Option<String>,
    /// Whisper's initial prompt: the words callers are expected to say. The
    /// Wyoming protocol cannot carry it, so it is the STT server's
    /// `--initial-prompt`, set when `make run` starts the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initial_prompt: Option<String>,
}

/// Words the built-in agent acts on; tiny.en hears them far more reliably
/// when they are named in its prompt.
const BUILTIN_AGENT_PROMPT: &str = "Transfer me to a person, an agent or billing. Goodbye.";

impl Default for WyomingSection {
    fn default() -> Self {
        Self {
            stt: "tcp://127.0.0.1:10300".into(),
            tts: "tcp://127.0.0.1:10200".into(),
            voice: None,
            initial_prompt: Some(BUILTIN_AGENT_PROMPT.into()),
        }
    }
}

/// Checks `[speech]`; the error names the key.
pub(super) fn validate(s: &SpeechSection) -> Result<(), (&'static str, String)> {
    for (key, addr) in [
        ("speech.wyoming.stt", &s.wyoming.stt),
        ("speech.wyoming.tts", &s.wyoming.tts),
    ] {
        let ok = addr
            .strip_prefix("tcp://")
            .and_then(|a| a.rsplit_once(':'))
            .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok_and(|p| p > 0));
        if !ok {
            return Err((key, format!("{addr:?} is not tcp://HOST:PORT")));
        }
    }
    if s.wyoming.voice.as_deref().is_some_and(|v| {
        v.is_empty()
            || !v
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    }) {
        return Err((
            "speech.wyoming.voice",
            "is not a voice name like en_US-joe-medium".into(),
        ));
    }
    Ok(())
}
