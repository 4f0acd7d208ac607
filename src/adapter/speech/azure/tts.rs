//! Text-to-speech over Azure Speech's REST endpoint.
//!
//! Protocol (Azure docs, "Text to speech REST API"): `POST
//! https://{region}.tts.speech.microsoft.com/cognitiveservices/v1` with
//! `Ocp-Apim-Subscription-Key`, `Content-Type: application/ssml+xml`,
//! `X-Microsoft-OutputFormat` (a `raw-*` format: no container to parse) and
//! an SSML body naming the voice; the audio comes back chunked as it is
//! synthesised. 401: bad key; 429: throttled; 400: bad SSML or voice. One
//! request per text piece, pieces in order; the body is read chunk by chunk
//! so that audio flows before the sentence is complete. Cancel drops the
//! response, which closes the connection.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::{Instant, sleep_until};
use tokio_tungstenite::tungstenite::Bytes;

use super::config::AzureConfig;
use crate::adapter::speech::deepgram::socket::{decode_le, excerpt};
use crate::application::ports::speech::{
    BoxFuture, TextToSpeech, TtsAudio, TtsChunk, TtsConfig, TtsError, TtsEvent, TtsInput,
    TtsOutput, TtsProviderEnd, TtsSession,
};

/// The Azure Speech TTS adapter.
#[derive(Debug, Clone)]
pub struct AzureTts {
    config: AzureConfig,
    client: reqwest::Client,
}

impl AzureTts {
    /// An adapter; fails only if the HTTP client cannot be built.
    pub fn new(config: AzureConfig) -> Result<Self, TtsError> {
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .user_agent(concat!("voice-gateway/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| TtsError::Connect(e.to_string()))?;
        Ok(Self { config, client })
    }
}

/// The audio a `raw-*` output format carries: µ-law or not, and the rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Format {
    pub(crate) name: &'static str,
    pub(crate) mulaw: bool,
    pub(crate) rate: u32,
}

/// What `name` (one of [`super::config::OUTPUT_FORMATS`]) carries.
pub(crate) fn format_named(name: &str) -> Option<Format> {
    let name = super::config::OUTPUT_FORMATS
        .into_iter()
        .find(|f| *f == name)?;
    let khz: u32 = name
        .strip_prefix("raw-")?
        .split("khz")
        .next()?
        .parse()
        .ok()?;
    Some(Format {
        name,
        mulaw: name.ends_with("mulaw"),
        rate: khz * 1000,
    })
}

/// The format for a session: the configured one, else the closest to what
/// it asks (µ-law 8 kHz, the phone's own, for `Native`).
fn format_for(config: &AzureConfig, output: TtsOutput) -> Format {
    let name = match (config.output_format.as_deref(), output) {
        (Some(forced), _) => forced,
        (None, TtsOutput::Linear16 { sample_rate }) => match sample_rate {
            0..=8_000 => "raw-8khz-16bit-mono-pcm",
            8_001..=16_000 => "raw-16khz-16bit-mono-pcm",
            16_001..=24_000 => "raw-24khz-16bit-mono-pcm",
            _ => "raw-48khz-16bit-mono-pcm",
        },
        (None, TtsOutput::Mulaw8k | TtsOutput::Native) => "raw-8khz-8bit-mono-mulaw",
    };
    // check-config refuses unknown names; a programmatic one falls back.
    format_named(name).unwrap_or(Format {
        name: "raw-8khz-8bit-mono-mulaw",
        mulaw: true,
        rate: 8_000,
    })
}

/// XML-escapes text and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters are not allowed in XML 1.0.
            c if c.is_control() && !matches!(c, '\t' | '\n' | '\r') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The SSML document speaking `text` with `voice` in `language`.
pub(crate) fn ssml(language: &str, voice: &str, text: &str) -> String {
    format!(
        "<speak version=\"1.0\" xmlns=\"http://www.w3.org/2001/10/synthesis\" xml:lang=\"{}\">\
         <voice name=\"{}\">{}</voice></speak>",
        escape(language),
        escape(voice),
        escape(text)
    )
}

impl TextToSpeech for AzureTts {
    fn open(&self, config: TtsConfig) -> BoxFuture<'_, Result<TtsSession, TtsError>> {
        Box::pin(async move {
            // HTTP needs nothing up front: the first piece's request is the
            // first contact, and its failure arrives as `TtsEvent::Error`.
            let task = Task {
                voice: config.voice.clone().unwrap_or(self.config.voice.clone()),
                language: config.language.clone(),
                format: format_for(&self.config, config.output),
                config: self.config.clone(),
                client: self.client.clone(),
            };
            let (session, end) = TtsSession::channel(config);
            tokio::spawn(task.run(end));
            Ok(session)
        })
    }
}

struct Task {
    config: AzureConfig,
    client: reqwest::Client,
    voice: String,
    language: String,
    format: Format,
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
                            let Some(chunk) = self.chunk(s, &bytes) else { continue };
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
                tracing::warn!(error = %e, "azure tts failed");
                TtsEvent::Error(e)
            }
        };
        let _ = end.events.send(last).await;
    }

    /// A body chunk as audio of the piece; `None` when it holds no whole sample.
    fn chunk(&self, s: &mut Speaking, bytes: &[u8]) -> Option<TtsChunk> {
        let audio = if self.format.mulaw {
            TtsAudio::Mulaw(bytes.to_vec())
        } else {
            TtsAudio::Linear16(decode_le(&mut s.odd, bytes))
        };
        let chunk = TtsChunk {
            audio,
            sample_rate: self.format.rate,
            piece: s.piece,
        };
        (chunk.samples() > 0).then_some(chunk)
    }

    /// Sends one piece's request and checks the response head.
    async fn request(&self, text: &str) -> Result<reqwest::Response, TtsError> {
        let request = self
            .client
            .post(self.config.tts_url())
            .header("ocp-apim-subscription-key", self.config.api_key.expose())
            .header("content-type", "application/ssml+xml")
            .header("x-microsoft-outputformat", self.format.name)
            .body(ssml(&self.language, &self.voice, text));
        let sent = tokio::time::timeout(
            self.config.read_timeout,
            crate::adapter::telemetry::propagate::send("azure", "synthesize", request),
        )
        .await;
        let response = match sent {
            Err(_) => {
                return Err(TtsError::Timeout {
                    waited: self.config.read_timeout,
                    waiting_for: "the response",
                });
            }
            Ok(Err(e)) => return Err(TtsError::Connect(e.without_url().to_string())),
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
        // Throttling and server errors may pass; a bad key, voice or SSML will not.
        if status.as_u16() == 429 || status.is_server_error() {
            Err(TtsError::Provider(message))
        } else {
            Err(TtsError::Rejected(message))
        }
    }
}

async fn next_chunk(speaking: Option<&mut Speaking>) -> Result<Option<Bytes>, String> {
    let Some(s) = speaking else {
        return std::future::pending().await;
    };
    s.response
        .chunk()
        .await
        .map_err(|e| e.without_url().to_string())
}
