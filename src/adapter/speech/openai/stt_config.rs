//! How to reach OpenAI's speech-to-text (`[speech.openai]`, the `stt_*` keys).

use std::time::Duration;

use crate::adapter::speech::deepgram::ApiKey;

/// Which API recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SttMode {
    /// Streaming over the Realtime API's transcription sessions (interim
    /// results); falls back to `Rest` when the socket cannot be opened.
    Realtime,
    /// One `POST /v1/audio/transcriptions` per utterance (no interim results).
    Rest,
}

/// OpenAI speech-to-text settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenAiSttConfig {
    /// `Authorization: Bearer <key>`; empty sends none (self-hosted servers).
    pub api_key: ApiKey,
    /// Scheme and host without `/v1` (`https://api.openai.com`); REST goes here.
    pub base_url: String,
    /// The Realtime WebSocket; `None`: derived from `base_url`
    /// (`wss://…/v1/realtime?intent=transcription`).
    pub realtime_url: Option<String>,
    /// `gpt-4o-transcribe`, `gpt-4o-mini-transcribe` or `whisper-1`.
    pub model: String,
    /// Overrides the session's language; `None` uses the session's.
    pub language: Option<String>,
    /// Streaming or one request per utterance.
    pub mode: SttMode,
    /// Bound on the WebSocket handshake and the session's configuration.
    pub connect_timeout: Duration,
    /// Longest wait for an utterance's transcript after its end.
    pub final_timeout: Duration,
}

impl Default for OpenAiSttConfig {
    fn default() -> Self {
        Self {
            api_key: ApiKey::default(),
            base_url: "https://api.openai.com".into(),
            realtime_url: None,
            model: "gpt-4o-transcribe".into(),
            language: None,
            mode: SttMode::Realtime,
            connect_timeout: Duration::from_secs(3),
            final_timeout: Duration::from_secs(5),
        }
    }
}

impl OpenAiSttConfig {
    /// Defaults with the key from `OPENAI_API_KEY`.
    pub fn from_env() -> Self {
        Self {
            api_key: ApiKey::from_env("OPENAI_API_KEY").unwrap_or_default(),
            ..Self::default()
        }
    }

    /// The Realtime transcription URL.
    pub fn realtime_url(&self) -> String {
        if let Some(url) = &self.realtime_url {
            return url.clone();
        }
        let base = self.base_url.trim_end_matches('/');
        let base = match base.split_once("://") {
            Some(("https", rest)) => format!("wss://{rest}"),
            Some(("http", rest)) => format!("ws://{rest}"),
            _ => base.to_owned(),
        };
        format!("{base}/v1/realtime?intent=transcription")
    }

    /// The REST transcription URL.
    pub fn rest_url(&self) -> String {
        format!(
            "{}/v1/audio/transcriptions",
            self.base_url.trim_end_matches('/')
        )
    }

    pub(crate) fn headers(&self) -> Vec<(&'static str, String)> {
        let mut h = vec![("openai-beta", "realtime=v1".to_owned())];
        if !self.api_key.is_empty() {
            h.push(("authorization", format!("Bearer {}", self.api_key.expose())));
        }
        h
    }
}
