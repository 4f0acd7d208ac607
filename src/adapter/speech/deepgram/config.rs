//! One configuration for both Deepgram directions (`[speech.deepgram]`).

use std::time::Duration;

use super::socket::{ApiKey, ConnectError};
use crate::application::ports::speech::{SttError, TtsError};

/// How to reach Deepgram and what to ask of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeepgramConfig {
    /// `Authorization: Token <key>`.
    pub api_key: ApiKey,
    /// `wss://api.deepgram.com`; tests point it at a fake (`ws://…`).
    pub base_url: String,
    /// Recognition model (`nova-3`).
    pub stt_model: String,
    /// Overrides the session's language (e.g. `multi`); `None` uses the session's.
    pub language: Option<String>,
    /// Silence (ms) after which Deepgram marks `speech_final`; `None` sends
    /// `endpointing=false`.
    pub endpointing_ms: Option<u32>,
    /// `utterance_end_ms`: a word-gap endpoint that works in noise too.
    pub utterance_end_ms: Option<u32>,
    /// Interval of `KeepAlive` while no audio flows (Deepgram closes the
    /// stream after 10 s without data; Asterisk sends none in silence).
    pub keepalive: Duration,
    /// How long after `Finalize` to wait for its result before answering
    /// `finish()` with what was heard so far.
    pub finalize_timeout: Duration,
    /// Aura voice model (`aura-2-thalia-en`), used when the session names none.
    pub tts_model: String,
    /// Bound on the WebSocket handshake.
    pub connect_timeout: Duration,
    /// TTS: longest silence from the server while a piece is pending.
    pub read_timeout: Duration,
}

impl Default for DeepgramConfig {
    fn default() -> Self {
        Self {
            api_key: ApiKey::default(),
            base_url: "wss://api.deepgram.com".into(),
            stt_model: "nova-3".into(),
            language: None,
            endpointing_ms: Some(300),
            utterance_end_ms: Some(1000),
            keepalive: Duration::from_secs(4),
            finalize_timeout: Duration::from_secs(2),
            tts_model: "aura-2-thalia-en".into(),
            connect_timeout: Duration::from_secs(3),
            read_timeout: Duration::from_secs(10),
        }
    }
}

impl DeepgramConfig {
    /// Defaults with the key from `DEEPGRAM_API_KEY`.
    pub fn from_env() -> Self {
        let api_key = ApiKey::from_env("DEEPGRAM_API_KEY").unwrap_or_default();
        Self {
            api_key,
            ..Self::default()
        }
    }

    pub(super) fn auth(&self) -> Vec<(&'static str, String)> {
        vec![("authorization", format!("Token {}", self.api_key.expose()))]
    }

    pub(super) fn url(&self, path: &str) -> Result<reqwest::Url, String> {
        let base = self.base_url.trim_end_matches('/');
        reqwest::Url::parse(&format!("{base}{path}")).map_err(|e| e.to_string())
    }
}

/// Handshake failures as the STT port's errors: a refused key or request is
/// final, the rest may pass.
pub(crate) fn stt_connect_error(e: ConnectError) -> SttError {
    match e {
        ConnectError::Refused { status, .. } if status < 500 && status != 429 => {
            SttError::Rejected(e.to_string())
        }
        ConnectError::Timeout(waited) => SttError::Timeout {
            waited,
            waiting_for: "the connection",
        },
        other => SttError::Connect(other.to_string()),
    }
}

/// The same for the TTS port.
pub(crate) fn tts_connect_error(e: ConnectError) -> TtsError {
    match e {
        ConnectError::Refused { status, .. } if status < 500 && status != 429 => {
            TtsError::Rejected(e.to_string())
        }
        ConnectError::Timeout(waited) => TtsError::Timeout {
            waited,
            waiting_for: "the connection",
        },
        other => TtsError::Connect(other.to_string()),
    }
}
