//! Text-to-speech over the OpenAI speech API.
//!
//! Protocol (OpenAI API reference, "Create speech"): `POST {base}/v1/audio/speech`
//! with `Authorization: Bearer <key>` and `{model, input, voice,
//! response_format: "pcm"}`; the body is raw 16-bit little-endian mono PCM at
//! 24 kHz, sent chunked as it is generated. There is no µ-law output, so the
//! media leg resamples. One request per text piece, pieces in order; the body
//! is read chunk by chunk so that audio flows before the sentence is complete.
//! Cancel drops the response, which closes the connection.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::{Instant, sleep_until};
// reqwest's body chunks are `bytes::Bytes`, which tungstenite re-exports.
use tokio_tungstenite::tungstenite::Bytes;

use crate::adapter::speech::deepgram::socket::{ApiKey, decode_le, excerpt};
use crate::application::ports::speech::{
    BoxFuture, TextToSpeech, TtsAudio, TtsChunk, TtsConfig, TtsError, TtsEvent, TtsInput,
    TtsProviderEnd, TtsSession,
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
            tokio::spawn(task.run(end));
            Ok(session)
        })
    }
}

struct Task {
    config: OpenAiTtsConfig,
    client: reqwest::Client,
    voice: String,
}

/// The piece whose response body is being read.
struct Speaking {
    piece: u32,
    response: reqwest::Response,
    /// The odd byte of a sample split across body chunks.
    odd: Option<u8>,
    deadline: Instant,
}

impl Task {
    async fn run(self, mut end: TtsProviderEnd) {
        let mut queue: VecDeque<(u32, String)> = VecDeque::new();
        let (mut finished, mut input_open) = (false, true);
        let mut speaking: Option<Speaking> = None;
        let result: Result<(), TtsError> = loop {
            if speaking.is_none() {
                if let Some((piece, text)) = queue.pop_front() {
                    let started = tokio::select! {
                        biased;
                        () = end.events.closed() => return,
                        r = self.request(&text) => r,
                    };
                    match started {
                        Ok(response) => {
                            let deadline = Instant::now() + self.config.read_timeout;
                            speaking = Some(Speaking {
                                piece,
                                response,
                                odd: None,
                                deadline,
                            });
                        }
                        Err(e) => break Err(e),
                    }
                } else if finished {
                    break Ok(());
                }
            }
            let deadline = speaking.as_ref().map(|s| s.deadline);
            tokio::select! {
                biased;
                () = end.events.closed() => return,
                input = end.input.recv(), if input_open => match input {
                    Some(TtsInput::Text { piece, text }) => queue.push_back((piece, text)),
                    Some(TtsInput::Finish) => finished = true,
                    None => input_open = false,
                },
                got = next_chunk(speaking.as_mut()), if speaking.is_some() => {
                    let s = speaking.as_mut().expect("guarded");
                    s.deadline = Instant::now() + self.config.read_timeout;
                    match got {
                        Ok(Some(bytes)) => {
                            let pcm = decode_le(&mut s.odd, &bytes);
                            if pcm.is_empty() {
                                continue;
                            }
                            let chunk = TtsChunk {
                                audio: TtsAudio::Linear16(pcm),
                                sample_rate: self.config.sample_rate,
                                piece: s.piece,
                            };
                            if end.events.send(TtsEvent::Audio(chunk)).await.is_err() {
                                return;
                            }
                        }
                        // A trailing odd byte is half a sample: dropped.
                        Ok(None) => speaking = None,
                        Err(e) => break Err(TtsError::Provider(format!("reading audio: {e}"))),
                    }
                }
                () = sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                    break Err(TtsError::Timeout { waited: self.config.read_timeout, waiting_for: "audio" });
                }
            }
        };
        let last = match result {
            Ok(()) => TtsEvent::Done,
            Err(e) => {
                tracing::warn!(error = %e, "openai tts failed");
                TtsEvent::Error(e)
            }
        };
        let _ = end.events.send(last).await;
    }

    /// Sends one piece's request and checks the response head.
    async fn request(&self, text: &str) -> Result<reqwest::Response, TtsError> {
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
        let mut request = self.client.post(url).json(&body);
        if !self.config.api_key.is_empty() {
            request = request.bearer_auth(self.config.api_key.expose());
        }
        let sent = tokio::time::timeout(
            self.config.read_timeout,
            crate::adapter::telemetry::propagate::send("openai", "speech", request),
        )
        .await;
        let response = match sent {
            Err(_) => {
                return Err(TtsError::Timeout {
                    waited: self.config.read_timeout,
                    waiting_for: "the response",
                });
            }
            Ok(Err(e)) => return Err(TtsError::Connect(without_url(e))),
            Ok(Ok(response)) => response,
        };
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let detail = tokio::time::timeout(Duration::from_secs(1), response.text())
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        let message = format!("HTTP {}: {}", status.as_u16(), excerpt(&detail));
        // Rate limits and server errors may pass; a bad key or request will not.
        if status.as_u16() == 429 || status.is_server_error() {
            Err(TtsError::Provider(message))
        } else {
            Err(TtsError::Rejected(message))
        }
    }
}

/// reqwest errors name the URL; the base URL is configuration, not a secret,
/// but keeping messages short keeps logs readable.
fn without_url(e: reqwest::Error) -> String {
    e.without_url().to_string()
}

async fn next_chunk(speaking: Option<&mut Speaking>) -> Result<Option<Bytes>, String> {
    let Some(s) = speaking else {
        return std::future::pending().await;
    };
    s.response.chunk().await.map_err(without_url)
}
