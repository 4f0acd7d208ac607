//! Text-to-speech over the OpenAI speech API.
//!
//! Protocol (OpenAI API reference, "Create speech"): `POST {base}/v1/audio/speech`
//! with `Authorization: Bearer <key>` and `{model, input, voice,
//! response_format: "pcm"}`; the body is raw 16-bit little-endian mono PCM at
//! 24 kHz, sent chunked as it is generated. There is no µ-law output, so the
//! media leg resamples. One request per text piece, in the loop shared with
//! the other request-per-piece adapters (`super::super::pieces`).

use std::time::Duration;

use crate::adapter::speech::deepgram::socket::{ApiKey, decode_le};
use crate::adapter::speech::pieces::{PieceSpeaker, speak};
use crate::application::ports::speech::{
    BoxFuture, TextToSpeech, TtsAudio, TtsConfig, TtsError, TtsSession,
};

/// How to reach the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenAiTtsConfig {
    /// Bearer key; empty sends no `Authorization` (self-hosted servers).
    pub api_key: ApiKey,
    /// Scheme, host and optional path prefix, without `/v1`.
    pub base_url: String,
    /// `tts-1`, `gpt-4o-mini-tts`, or a self-hosted model name.
    pub model: String,
    /// Voice when the session asks for none.
    pub voice: String,
    /// Rate of the server's `pcm` output (OpenAI: 24 kHz).
    pub sample_rate: u32,
    /// Bound on connecting.
    pub connect_timeout: Duration,
    /// Longest wait for the response head or the next body chunk.
    pub read_timeout: Duration,
}

impl Default for OpenAiTtsConfig {
    fn default() -> Self {
        Self {
            api_key: ApiKey::default(),
            base_url: "https://api.openai.com".into(),
            model: "gpt-4o-mini-tts".into(),
            voice: "alloy".into(),
            sample_rate: 24_000,
            connect_timeout: Duration::from_secs(3),
            read_timeout: Duration::from_secs(10),
        }
    }
}

impl OpenAiTtsConfig {
    /// Defaults with the key from `OPENAI_API_KEY`.
    pub fn from_env() -> Self {
        let api_key = ApiKey::from_env("OPENAI_API_KEY").unwrap_or_default();
        Self {
            api_key,
            ..Self::default()
        }
    }
}

/// The OpenAI-compatible TTS adapter.
#[derive(Debug, Clone)]
pub struct OpenAiTts {
    config: OpenAiTtsConfig,
    client: reqwest::Client,
}

impl OpenAiTts {
    /// An adapter for one server; fails only if the HTTP client cannot be built.
    pub fn new(config: OpenAiTtsConfig) -> Result<Self, TtsError> {
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .build()
            .map_err(|e| TtsError::Connect(e.to_string()))?;
        Ok(Self { config, client })
    }
}

impl TextToSpeech for OpenAiTts {
    fn open(&self, config: TtsConfig) -> BoxFuture<'_, Result<TtsSession, TtsError>> {
        Box::pin(async move {
            // HTTP needs nothing up front: the first piece's request is the
            // first contact, and its failure arrives as `TtsEvent::Error`.
            let voice = config.voice.clone().unwrap_or(self.config.voice.clone());
            let (session, end) = TtsSession::channel(config);
            let task = Task {
                config: self.config.clone(),
                client: self.client.clone(),
                voice,
            };
            tokio::spawn(speak(task, end));
            Ok(session)
        })
    }
}

struct Task {
    config: OpenAiTtsConfig,
    client: reqwest::Client,
    voice: String,
}

impl PieceSpeaker for Task {
    fn name(&self) -> &'static str {
        "openai"
    }

    fn read_timeout(&self) -> Duration {
        self.config.read_timeout
    }

    fn request(&self, text: &str) -> Result<reqwest::RequestBuilder, TtsError> {
        let url = format!(
            "{}/v1/audio/speech",
            self.config.base_url.trim_end_matches('/')
        );
        let body = serde_json::json!({
            "model": self.config.model,
            "input": text,
            "voice": self.voice,
            "response_format": "pcm",
        });
        let request = self.client.post(url).json(&body);
        if self.config.api_key.is_empty() {
            return Ok(request);
        }
        Ok(request.bearer_auth(self.config.api_key.expose()))
    }

    fn decode(&self, odd: &mut Option<u8>, bytes: &[u8]) -> (TtsAudio, u32) {
        let pcm = decode_le(odd, bytes);
        (TtsAudio::Linear16(pcm), self.config.sample_rate)
    }
}
