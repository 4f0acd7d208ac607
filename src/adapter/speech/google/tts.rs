//! Text-to-speech over Google Cloud Text-to-Speech `text:synthesize` (REST).
//!
//! Protocol (cloud.google.com Text-to-Speech REST reference,
//! `text.synthesize`): `POST {base}/v1/text:synthesize` with
//! `{input: {text}, voice: {languageCode, name}, audioConfig: {audioEncoding,
//! sampleRateHertz}}` answers `{audioContent: <base64>}`; `LINEAR16` and
//! `MULAW` content comes inside a WAV header, which is stripped. Google's
//! streaming synthesis (`StreamingSynthesize`, gRPC) serves only some voices
//! (Chirp 3 HD) and has no µ-law or rate choice, so this adapter uses the
//! unary call the issue allows for that case: one request per text piece,
//! pieces in order, each answer handed on in 100 ms chunks. A telephone
//! session asks for `MULAW` at 8 kHz, which needs no resampling.

use base64::Engine;

use super::auth::Authenticator;
use super::config::GoogleConfig;
use crate::adapter::speech::deepgram::socket::{decode_le, excerpt};
use crate::application::ports::speech::{
    BoxFuture, TextToSpeech, TtsAudio, TtsChunk, TtsConfig, TtsError, TtsEvent, TtsInput,
    TtsOutput, TtsProviderEnd, TtsSession,
};

/// Rate asked for when the session takes the voice's own (`Native`).
const NATIVE_RATE: u32 = 24_000;

/// The Google TTS adapter.
#[derive(Debug, Clone)]
pub struct GoogleTts {
    config: GoogleConfig,
    auth: Authenticator,
    client: reqwest::Client,
}

impl GoogleTts {
    /// An adapter with this configuration; fails when the key file is bad.
    pub fn new(config: GoogleConfig) -> Result<Self, TtsError> {
        let auth = Authenticator::new(&config.credentials, config.connect_timeout)
            .map_err(|e| TtsError::Rejected(e.to_string()))?;
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .build()
            .map_err(|e| TtsError::Connect(e.to_string()))?;
        Ok(Self {
            config,
            auth,
            client,
        })
    }
}

impl TextToSpeech for GoogleTts {
    fn open(&self, config: TtsConfig) -> BoxFuture<'_, Result<TtsSession, TtsError>> {
        Box::pin(async move {
            let (session, end) = TtsSession::channel(config.clone());
            tokio::spawn(
                Task {
                    tts: self.clone(),
                    session: config,
                }
                .run(end),
            );
            Ok(session)
        })
    }
}

struct Task {
    tts: GoogleTts,
    session: TtsConfig,
}

/// The encoding and rate asked of Google for a session's output.
fn format(output: TtsOutput) -> (&'static str, u32) {
    match output {
        TtsOutput::Mulaw8k => ("MULAW", 8_000),
        TtsOutput::Linear16 { sample_rate } => ("LINEAR16", sample_rate),
        TtsOutput::Native => ("LINEAR16", NATIVE_RATE),
    }
}

impl Task {
    async fn run(self, mut end: TtsProviderEnd) {
        loop {
            let input = tokio::select! {
                biased;
                () = end.events.closed() => return,
                input = end.input.recv() => input,
            };
            let (piece, text) = match input {
                Some(TtsInput::Text { piece, text }) => (piece, text),
                Some(TtsInput::Finish) => break,
                None => return,
            };
            let spoken = tokio::select! {
                biased;
                () = end.events.closed() => return,
                r = self.synthesize(&text) => r,
            };
            let chunks = match spoken {
                Ok(audio) => self.chunks(piece, &audio),
                Err(e) => {
                    tracing::warn!(error = %e, "google tts failed");
                    let _ = end.events.send(TtsEvent::Error(e)).await;
                    return;
                }
            };
            for chunk in chunks {
                if end.events.send(TtsEvent::Audio(chunk)).await.is_err() {
                    return;
                }
            }
        }
        let _ = end.events.send(TtsEvent::Done).await;
    }

    /// The audio in 100 ms chunks.
    fn chunks(&self, piece: u32, audio: &[u8]) -> Vec<TtsChunk> {
        let (encoding, rate) = format(self.session.output);
        let samples = (rate / 10).max(1) as usize;
        if encoding == "MULAW" {
            return audio
                .chunks(samples)
                .map(|c| TtsChunk {
                    audio: TtsAudio::Mulaw(c.to_vec()),
                    sample_rate: rate,
                    piece,
                })
                .collect();
        }
        decode_le(&mut None, audio)
            .chunks(samples)
            .map(|c| TtsChunk {
                audio: TtsAudio::Linear16(c.to_vec()),
                sample_rate: rate,
                piece,
            })
            .collect()
    }

    fn body(&self, text: &str) -> serde_json::Value {
        let c = &self.tts.config;
        let (encoding, rate) = format(self.session.output);
        let language = c.language.as_deref().unwrap_or(&self.session.language);
        let mut voice = serde_json::json!({ "languageCode": language });
        if let Some(name) = self.session.voice.as_ref().or(c.voice.as_ref()) {
            voice["name"] = name.as_str().into();
        }
        serde_json::json!({
            "input": { "text": text },
            "voice": voice,
            "audioConfig": { "audioEncoding": encoding, "sampleRateHertz": rate },
        })
    }

    /// One `text:synthesize`: the audio without its WAV header.
    async fn synthesize(&self, text: &str) -> Result<Vec<u8>, TtsError> {
        let c = &self.tts.config;
        let url = format!(
            "{}/v1/text:synthesize",
            c.tts_endpoint.trim_end_matches('/')
        );
        let (name, value) = self
            .tts
            .auth
            .header()
            .await
            .map_err(|e| TtsError::Rejected(e.to_string()))?;
        let request = self
            .tts
            .client
            .post(url)
            .header(name, value)
            .json(&self.body(text));
        let waited = c.read_timeout;
        let timeout = |what| TtsError::Timeout {
            waited,
            waiting_for: what,
        };
        let response = tokio::time::timeout(
            waited,
            crate::adapter::telemetry::propagate::send("google", "synthesize", request),
        )
        .await
        .map_err(|_| timeout("the response"))?
        .map_err(|e| TtsError::Connect(e.without_url().to_string()))?;
        let status = response.status();
        let body = tokio::time::timeout(waited, response.text())
            .await
            .map_err(|_| timeout("the audio"))?
            .map_err(|e| TtsError::Provider(e.without_url().to_string()))?;
        if !status.is_success() {
            let message = format!("HTTP {}: {}", status.as_u16(), excerpt(&body));
            // Quota and server errors may pass; a bad key, voice or text will not.
            return Err(if status.as_u16() == 429 || status.is_server_error() {
                TtsError::Provider(message)
            } else {
                TtsError::Rejected(message)
            });
        }
        let audio = parse_synthesis(&body).map_err(TtsError::Protocol)?;
        strip_wav(&audio)
            .map(<[u8]>::to_vec)
            .map_err(TtsError::Protocol)
    }
}

/// The decoded `audioContent` of a `text:synthesize` answer.
pub(crate) fn parse_synthesis(body: &str) -> Result<Vec<u8>, String> {
    let v: serde_json::Value = serde_json::from_str(body).map_err(|e| format!("not JSON: {e}"))?;
    let content = v["audioContent"]
        .as_str()
        .ok_or("an answer without audioContent")?;
    base64::engine::general_purpose::STANDARD
        .decode(content)
        .map_err(|e| format!("audioContent is not base64: {e}"))
}

/// The samples of a RIFF/WAVE file (its `data` chunk); anything not
/// starting with `RIFF` is taken as raw audio already.
pub(crate) fn strip_wav(bytes: &[u8]) -> Result<&[u8], String> {
    if !bytes.starts_with(b"RIFF") {
        return Ok(bytes);
    }
    if bytes.get(8..12) != Some(b"WAVE") {
        return Err("a RIFF file that is not WAVE".into());
    }
    let mut at = 12usize;
    while let Some(head) = bytes.get(at..at + 8) {
        let len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
        let body = at + 8;
        if &head[..4] == b"data" {
            // Streams write 0 or 0xFFFFFFFF when the length was unknown: take the rest.
            let end = body.saturating_add(len).min(bytes.len());
            return Ok(&bytes[body..end]);
        }
        // Chunks are padded to an even length.
        at = body.saturating_add(len).saturating_add(len & 1);
    }
    Err("a WAVE file without a data chunk".into())
}
