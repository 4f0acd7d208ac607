//! Aura text-to-speech over Deepgram's `/v1/speak` WebSocket.
//!
//! Protocol (developers.deepgram.com: "Text-to-Speech Streaming" API
//! reference, "Flush", "Clear", "TTS Troubleshooting WebSocket, NET, and DATA
//! Errors"): the query names the voice model and output
//! (`encoding=mulaw&sample_rate=8000`, the phone format, unless the session
//! asks for linear PCM); we send `{"type":"Speak","text":…}`, `Flush` to have
//! the buffered text spoken (answered by `Flushed`), `Clear` to drop it on
//! barge-in (answered by `Cleared`) and `Close`; audio comes as binary
//! frames, besides `Metadata` and `Warning` text messages.
//!
//! Each text piece is one `Speak` + `Flush`, so every `Flushed` ends one
//! piece's audio and chunks carry the right piece id. Deepgram allows 20
//! flushes a minute, above a caller's sentence rate.

use std::collections::VecDeque;

use tokio::time::{Instant, sleep_until};

use super::config::{DeepgramConfig, tts_connect_error};
use super::socket::{self, Reader, ReceiveError, Received, Writer, decode_le};
use crate::application::ports::speech::{
    BoxFuture, TextToSpeech, TtsAudio, TtsChunk, TtsConfig, TtsError, TtsEvent, TtsInput,
    TtsOutput, TtsProviderEnd, TtsSession,
};

/// The Deepgram Aura TTS adapter.
#[derive(Debug, Clone)]
pub struct DeepgramTts {
    config: DeepgramConfig,
}

impl DeepgramTts {
    /// An adapter with this configuration.
    pub fn new(config: DeepgramConfig) -> Self {
        Self { config }
    }
}

/// µ-law 8 kHz unless linear PCM was asked for.
fn format(output: TtsOutput) -> (bool, u32) {
    match output {
        TtsOutput::Linear16 { sample_rate } => (false, sample_rate),
        TtsOutput::Mulaw8k | TtsOutput::Native => (true, 8_000),
    }
}

impl TextToSpeech for DeepgramTts {
    fn open(&self, config: TtsConfig) -> BoxFuture<'_, Result<TtsSession, TtsError>> {
        Box::pin(async move {
            let (mulaw, rate) = format(config.output);
            let mut url = self.config.url("/v1/speak").map_err(TtsError::Connect)?;
            let model = config.voice.as_deref().unwrap_or(&self.config.tts_model);
            url.query_pairs_mut()
                .append_pair("model", model)
                .append_pair("encoding", if mulaw { "mulaw" } else { "linear16" })
                .append_pair("sample_rate", &rate.to_string());
            let (writer, reader) = socket::connect(
                url.as_str(),
                &self.config.auth(),
                self.config.connect_timeout,
            )
            .await
            .map_err(tts_connect_error)?;
            let (session, end) = TtsSession::channel(config);
            let task = Task {
                config: self.config.clone(),
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
    config: DeepgramConfig,
    writer: Writer,
    mulaw: bool,
    rate: u32,
}

fn message(kind: &str) -> serde_json::Value {
    serde_json::json!({ "type": kind })
}

impl Task {
    async fn run(mut self, mut end: TtsProviderEnd, mut reader: Reader) {
        // Pieces sent and not yet `Flushed`, oldest first.
        let mut in_flight: VecDeque<u32> = VecDeque::new();
        let (mut finished, mut input_open) = (false, true);
        let mut odd = None;
        let mut deadline = None;
        let result: Result<(), TtsError> = loop {
            if finished && in_flight.is_empty() {
                break Ok(());
            }
            tokio::select! {
                biased;
                () = end.events.closed() => {
                    // Barge-in: stop generation at once, then leave.
                    let _ = socket::send_json(&mut self.writer, &message("Clear")).await;
                    socket::close(&mut self.writer, Some(message("Close"))).await;
                    return;
                }
                input = end.input.recv(), if input_open => match input {
                    Some(TtsInput::Text { piece, text }) => {
                        if text.trim().is_empty() {
                            continue;
                        }
                        let speak = serde_json::json!({ "type": "Speak", "text": text });
                        let sent = match socket::send_json(&mut self.writer, &speak).await {
                            Ok(()) => socket::send_json(&mut self.writer, &message("Flush")).await,
                            Err(e) => Err(e),
                        };
                        if let Err(e) = sent {
                            break Err(TtsError::Provider(e));
                        }
                        in_flight.push_back(piece);
                        deadline.get_or_insert(Instant::now() + self.config.read_timeout);
                    }
                    Some(TtsInput::Finish) => finished = true,
                    None => input_open = false,
                },
                got = socket::receive(&mut reader) => {
                    match self.on_message(got, &mut odd) {
                        Ok(Reply::Audio(audio)) => {
                            let Some(&piece) = in_flight.front() else {
                                break Err(TtsError::Protocol("audio with no text pending".into()));
                            };
                            let chunk = TtsChunk { audio, sample_rate: self.rate, piece };
                            // On failure the session is gone: `closed()` fires next.
                            let _ = end.events.send(TtsEvent::Audio(chunk)).await;
                        }
                        Ok(Reply::Flushed) => {
                            in_flight.pop_front();
                            odd = None;
                        }
                        Ok(Reply::Nothing) => {}
                        Err(e) => break Err(e),
                    }
                    // The server is alive; only silence while text is pending counts.
                    deadline = (!in_flight.is_empty()).then(|| Instant::now() + self.config.read_timeout);
                }
                () = sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                    break Err(TtsError::Timeout { waited: self.config.read_timeout, waiting_for: "audio" });
                }
            }
        };
        let last = match result {
            Ok(()) => {
                socket::close(&mut self.writer, Some(message("Close"))).await;
                TtsEvent::Done
            }
            Err(e) => {
                tracing::warn!(error = %e, "deepgram tts failed");
                socket::close(&mut self.writer, None).await;
                TtsEvent::Error(e)
            }
        };
        let _ = end.events.send(last).await;
    }
}

/// What one server message means for the synthesis.
enum Reply {
    Audio(TtsAudio),
    /// The oldest piece in flight is fully spoken.
    Flushed,
    Nothing,
}

impl Task {
    fn on_message(
        &self,
        got: Result<Received, ReceiveError>,
        odd: &mut Option<u8>,
    ) -> Result<Reply, TtsError> {
        let got = got.map_err(|e| match e {
            ReceiveError::Transport(e) => TtsError::Provider(e),
            ReceiveError::Malformed(e) => TtsError::Protocol(e),
        })?;
        let text = match got {
            Received::Binary(bytes) if self.mulaw => {
                return Ok(Reply::Audio(TtsAudio::Mulaw(bytes)));
            }
            Received::Binary(bytes) => {
                return Ok(Reply::Audio(TtsAudio::Linear16(decode_le(odd, &bytes))));
            }
            Received::Text(text) => text,
            Received::Closed(frame) => {
                let why = frame.map_or("no close frame".into(), |(code, reason)| {
                    format!("{code} {reason}")
                });
                return Err(TtsError::Provider(format!(
                    "deepgram closed the stream: {why}"
                )));
            }
        };
        let v: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| TtsError::Protocol(format!("not JSON: {e}")))?;
        let said = |v: &serde_json::Value| {
            ["description", "err_msg", "message", "warn_msg"]
                .iter()
                .find_map(|k| v[*k].as_str())
                .map(socket::excerpt)
                .unwrap_or_default()
        };
        match v["type"].as_str() {
            Some("Flushed") => Ok(Reply::Flushed),
            Some("Metadata" | "Cleared") => Ok(Reply::Nothing),
            Some("Warning") => {
                tracing::warn!(warning = %said(&v), "deepgram tts warning");
                Ok(Reply::Nothing)
            }
            Some("Error") => Err(TtsError::Provider(said(&v))),
            Some(_) => Ok(Reply::Nothing),
            None => Err(TtsError::Protocol("a message without a type".into())),
        }
    }
}
