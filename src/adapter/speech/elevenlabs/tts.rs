//! Text-to-speech over ElevenLabs' stream-input WebSocket.
//!
//! Protocol (elevenlabs.io API reference, "WebSocket",
//! `wss://api.elevenlabs.io/v1/text-to-speech/{voice_id}/stream-input`): the
//! query names `model_id` and `output_format` (`ulaw_8000`, the phone format,
//! or `pcm_<rate>`); the key goes in the `xi-api-key` handshake header. The
//! first message is `{"text": " "}`; each text piece follows as
//! `{"text": "<piece> ", "try_trigger_generation": true, "flush": true}` (text
//! ends with a space; `flush` makes a finished sentence speak now); `{"text":
//! ""}` ends the input. The server answers `{"audio": <base64>, "alignment":
//! {chars, …}}` messages and finally `{"isFinal": true}`; errors come as
//! `{"message"/"error": …}` and a close frame. There is no clear message:
//! cancel closes the socket, which stops generation.

use std::time::Duration;

use tokio::time::{Instant, sleep_until};

use super::messages::{Pieces, parse};
use crate::adapter::speech::deepgram::config::tts_connect_error;
use crate::adapter::speech::deepgram::socket::{
    self, ApiKey, Reader, ReceiveError, Received, Writer, decode_le,
};
use crate::application::ports::speech::{
    BoxFuture, TextToSpeech, TtsAudio, TtsChunk, TtsConfig, TtsError, TtsEvent, TtsInput,
    TtsOutput, TtsProviderEnd, TtsSession,
};

/// How to reach ElevenLabs (`[speech.elevenlabs]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElevenLabsConfig {
    /// Sent as the `xi-api-key` handshake header.
    pub api_key: ApiKey,
    /// `wss://api.elevenlabs.io`; tests point it at a fake.
    pub base_url: String,
    /// Voice id when the session names none.
    pub voice_id: String,
    /// `eleven_flash_v2_5` (lowest latency).
    pub model_id: String,
    /// Seconds without text before the server closes (its default is 20).
    pub inactivity_timeout_s: u32,
    /// Bound on the handshake.
    pub connect_timeout: Duration,
    /// Longest silence from the server while text is pending.
    pub read_timeout: Duration,
}

impl Default for ElevenLabsConfig {
    fn default() -> Self {
        Self {
            api_key: ApiKey::default(),
            base_url: "wss://api.elevenlabs.io".into(),
            voice_id: "21m00Tcm4TlvDq8ikWAM".into(),
            model_id: "eleven_flash_v2_5".into(),
            inactivity_timeout_s: 60,
            connect_timeout: Duration::from_secs(3),
            read_timeout: Duration::from_secs(10),
        }
    }
}

impl ElevenLabsConfig {
    /// Defaults with the key from `ELEVENLABS_API_KEY`.
    pub fn from_env() -> Self {
        let api_key = ApiKey::from_env("ELEVENLABS_API_KEY").unwrap_or_default();
        Self {
            api_key,
            ..Self::default()
        }
    }
}

/// The ElevenLabs TTS adapter.
#[derive(Debug, Clone)]
pub struct ElevenLabsTts {
    config: ElevenLabsConfig,
}

impl ElevenLabsTts {
    /// An adapter with this configuration.
    pub fn new(config: ElevenLabsConfig) -> Self {
        Self { config }
    }
}

/// `(output_format, µ-law?, rate)`: µ-law 8 kHz unless linear PCM was asked
/// for, then the nearest PCM rate ElevenLabs offers at or above it.
fn format(output: TtsOutput) -> (String, bool, u32) {
    match output {
        TtsOutput::Linear16 { sample_rate } => {
            let rates = [8_000, 16_000, 22_050, 24_000, 44_100];
            let rate = rates
                .into_iter()
                .find(|r| *r >= sample_rate)
                .unwrap_or(44_100);
            (format!("pcm_{rate}"), false, rate)
        }
        TtsOutput::Mulaw8k | TtsOutput::Native => ("ulaw_8000".into(), true, 8_000),
    }
}

impl TextToSpeech for ElevenLabsTts {
    fn open(&self, config: TtsConfig) -> BoxFuture<'_, Result<TtsSession, TtsError>> {
        Box::pin(async move {
            let c = &self.config;
            let (output_format, mulaw, rate) = format(config.output);
            let voice = config.voice.as_deref().unwrap_or(&c.voice_id);
            let base = c.base_url.trim_end_matches('/');
            let mut url = reqwest::Url::parse(&format!("{base}/v1/text-to-speech/"))
                .and_then(|u| u.join(&format!("{voice}/stream-input")))
                .map_err(|e| TtsError::Connect(e.to_string()))?;
            url.query_pairs_mut()
                .append_pair("model_id", &c.model_id)
                .append_pair("output_format", &output_format)
                .append_pair("inactivity_timeout", &c.inactivity_timeout_s.to_string());
            let headers = [("xi-api-key", c.api_key.expose().to_owned())];
            let (mut writer, reader) = socket::connect(url.as_str(), &headers, c.connect_timeout)
                .await
                .map_err(tts_connect_error)?;
            socket::send_json(&mut writer, &serde_json::json!({ "text": " " }))
                .await
                .map_err(TtsError::Connect)?;
            let (session, end) = TtsSession::channel(config);
            let task = Task {
                config: c.clone(),
                writer,
                mulaw,
                rate,
            };
            tokio::spawn(task.run(end, reader));
            Ok(session)
        })
    }
}

struct Task {
    config: ElevenLabsConfig,
    writer: Writer,
    mulaw: bool,
    rate: u32,
}

impl Task {
    async fn run(mut self, mut end: TtsProviderEnd, mut reader: Reader) {
        let mut pieces = Pieces::default();
        let (mut finished, mut input_open) = (false, true);
        let mut odd = None;
        let mut deadline: Option<Instant> = None;
        let result: Result<(), TtsError> = loop {
            tokio::select! {
                biased;
                () = end.events.closed() => {
                    socket::close(&mut self.writer, None).await;
                    return;
                }
                input = end.input.recv(), if input_open && !finished => {
                    let message = match input {
                        Some(TtsInput::Text { piece, text }) if !text.trim().is_empty() => {
                            pieces.sent(piece, &text);
                            let text = format!("{} ", text.trim_end());
                            serde_json::json!({ "text": text, "try_trigger_generation": true, "flush": true })
                        }
                        Some(TtsInput::Text { .. }) => continue,
                        Some(TtsInput::Finish) => {
                            finished = true;
                            serde_json::json!({ "text": "" })
                        }
                        None => {
                            input_open = false;
                            continue;
                        }
                    };
                    if let Err(e) = socket::send_json(&mut self.writer, &message).await {
                        break Err(TtsError::Provider(e));
                    }
                    deadline.get_or_insert(Instant::now() + self.config.read_timeout);
                }
                got = socket::receive(&mut reader) => {
                    match self.on_message(got, &mut odd, finished) {
                        Ok(Some((audio, chars))) => {
                            let piece = pieces.heard(chars);
                            let chunk = TtsChunk { audio, sample_rate: self.rate, piece };
                            // On failure the session is gone: `closed()` fires next.
                            let _ = end.events.send(TtsEvent::Audio(chunk)).await;
                        }
                        Ok(None) => {}
                        Err(Ok(())) => break Ok(()),
                        Err(Err(e)) => break Err(e),
                    }
                    let waiting = pieces.waiting() || finished;
                    deadline = waiting.then(|| Instant::now() + self.config.read_timeout);
                }
                () = sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                    break Err(TtsError::Timeout { waited: self.config.read_timeout, waiting_for: "audio" });
                }
            }
        };
        socket::close(&mut self.writer, None).await;
        let last = match result {
            Ok(()) => TtsEvent::Done,
            Err(e) => {
                tracing::warn!(error = %e, "elevenlabs tts failed");
                TtsEvent::Error(e)
            }
        };
        let _ = end.events.send(last).await;
    }

    /// Audio and its aligned characters; `Err(Ok(()))` when the synthesis is
    /// complete, `Err(Err(..))` when it failed.
    #[allow(clippy::type_complexity)]
    fn on_message(
        &self,
        got: Result<Received, ReceiveError>,
        odd: &mut Option<u8>,
        finished: bool,
    ) -> Result<Option<(TtsAudio, Option<usize>)>, Result<(), TtsError>> {
        let got = got.map_err(|e| {
            Err(match e {
                ReceiveError::Transport(e) => TtsError::Provider(e),
                ReceiveError::Malformed(e) => TtsError::Protocol(e),
            })
        })?;
        let text = match got {
            Received::Text(text) => text,
            Received::Binary(_) => return Err(Err(TtsError::Protocol("binary message".into()))),
            // After our end-of-input a normal close is the end.
            Received::Closed(Some((1000, _))) if finished => return Err(Ok(())),
            Received::Closed(frame) => {
                let why = frame.map_or("no close frame".into(), |(code, reason)| {
                    format!("{code} {reason}")
                });
                return Err(Err(TtsError::Provider(format!(
                    "elevenlabs closed the stream: {why}"
                ))));
            }
        };
        let reply = parse(&text).map_err(|e| {
            Err(match e {
                Ok(said) => TtsError::Provider(socket::excerpt(&said)),
                Err(broken) => TtsError::Protocol(broken),
            })
        })?;
        if reply.audio.is_empty() {
            return if reply.is_final {
                Err(Ok(()))
            } else {
                Ok(None)
            };
        }
        let audio = if self.mulaw {
            TtsAudio::Mulaw(reply.audio)
        } else {
            TtsAudio::Linear16(decode_le(odd, &reply.audio))
        };
        // A final message with audio: the next read sees the close.
        Ok(Some((audio, reply.chars)))
    }
}
