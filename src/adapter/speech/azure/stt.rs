//! Real-time recognition over Azure Speech's WebSocket, as the Speech SDK
//! speaks it.
//!
//! Protocol (Speech SDK for JavaScript, `src/common.speech/`: the
//! `ServiceRecognizerBase`, `WebsocketMessageFormatter` and
//! `ServiceMessages`): `GET wss://{region}.stt.speech.microsoft.com/speech/
//! recognition/conversation/cognitiveservices/v1?language=…&format=detailed`
//! with `Ocp-Apim-Subscription-Key` and `X-ConnectionId`. A refused key fails
//! the handshake (401), throttling too (429). Each turn has its own
//! `X-RequestId`: `speech.config` (once per connection) and `speech.context`
//! (the phrase list) as text, then `audio` binary messages whose first one
//! starts with a RIFF/WAVE header, and an empty `audio` message to end it.
//! The service answers `turn.start`, `speech.startDetected`,
//! `speech.hypothesis` (interim), `speech.phrase` (final, with a
//! `RecognitionStatus`), `speech.endDetected`, `turn.end`. Mid-stream
//! failures arrive as a close frame (1007 bad data, 1008 quota, 1011).
//!
//! Mapping: `finish()` ends the turn; its phrases make one `Final`, sent on
//! `turn.end` (or after `finish_timeout` with what was heard). Audio pushed
//! before `turn.end` waits, then opens the next turn.

use std::collections::VecDeque;
use std::time::Duration;

use futures_util::SinkExt;
use tokio::time::{Instant, sleep_until};
use tokio_tungstenite::tungstenite::Message as Frame;

use super::config::AzureConfig;
use super::messages::{self, Phrase, ServerMessage, Turn};
use super::wire::{self, WavFormat};
use crate::adapter::speech::deepgram::config::stt_connect_error;
use crate::adapter::speech::deepgram::socket::{self, Reader, ReceiveError, Received, Writer};
use crate::application::ports::speech::{
    BoxFuture, SpeechToText, SttConfig, SttError, SttEvent, SttInput, SttProviderEnd, SttSession,
};

/// Audio held while a turn ends, at most (older audio is dropped).
const MAX_HELD: Duration = Duration::from_secs(10);

/// The Azure Speech real-time STT adapter.
#[derive(Debug, Clone)]
pub struct AzureStt {
    config: AzureConfig,
}

impl AzureStt {
    /// An adapter with this configuration.
    pub fn new(config: AzureConfig) -> Self {
        Self { config }
    }
}

impl SpeechToText for AzureStt {
    fn open(&self, config: SttConfig) -> BoxFuture<'_, Result<SttSession, SttError>> {
        Box::pin(async move {
            let c = &self.config;
            let language = c.language.as_deref().unwrap_or(&config.language);
            let url = c.stt_url(language).map_err(SttError::Connect)?;
            let headers = [c.auth(), ("x-connectionid", wire::new_id())];
            let (writer, reader) = socket::connect(url.as_str(), &headers, c.connect_timeout)
                .await
                .map_err(stt_connect_error)?;
            let task = Task {
                finish_timeout: c.finish_timeout,
                rate: config.sample_rate.hz(),
                interim: config.interim_results,
                context: context(&config.hints),
                writer,
                configured: false,
                phase: Phase::Idle,
                turn: Turn::default(),
                held: VecDeque::new(),
                pending_finishes: 0,
                samples: 0,
            };
            let (session, end) = SttSession::channel(config, SttSession::DEFAULT_QUEUE_FRAMES);
            tokio::spawn(task.run(end, reader));
            Ok(session)
        })
    }
}

/// `speech.config`: who is speaking to the service, and in which mode.
fn speech_config(rate: u32) -> String {
    serde_json::json!({
        "context": {
            "system": {"name": "voice-gateway", "version": env!("CARGO_PKG_VERSION"),
                       "build": "Rust", "lang": "Rust"},
            "os": {"platform": std::env::consts::OS, "name": "voice-gateway", "version": ""},
            "audio": {"source": {"bitspersample": 16, "channelcount": 1, "samplerate": rate,
                                 "connectivity": "Unknown", "type": "Stream",
                                 "manufacturer": "voice-gateway", "model": "telephony"}},
        },
        "recognition": "conversation",
    })
    .to_string()
}

/// `speech.context`: the session's hints as a phrase list (dynamic grammar).
fn context(hints: &[String]) -> String {
    let items: Vec<_> = hints
        .iter()
        .map(|h| serde_json::json!({ "Text": h }))
        .collect();
    let mut ctx = serde_json::json!({
        "phraseOutput": {"format": "Detailed", "detailed": {"options": ["WordTimings"]}},
    });
    if !items.is_empty() {
        ctx["dgi"] = serde_json::json!({"Groups": [{"Type": "Generic", "Items": items}]});
    }
    ctx.to_string()
}

/// Where the current turn is.
#[derive(Debug)]
enum Phase {
    /// No turn open: the next audio opens one.
    Idle,
    /// Audio flows in turn `id`, which began at audio time `base`.
    Streaming { id: String, base: Duration },
    /// Its end was sent; waiting for `turn.end` until `deadline`.
    Ending {
        id: String,
        base: Duration,
        deadline: Instant,
    },
}

struct Task {
    finish_timeout: Duration,
    rate: u32,
    interim: bool,
    context: String,
    writer: Writer,
    /// Whether `speech.config` went (once per connection, with the first turn).
    configured: bool,
    phase: Phase,
    turn: Turn,
    /// Audio that came while a turn was ending.
    held: VecDeque<Vec<i16>>,
    /// `finish()`es not yet answered by a `Final`.
    pending_finishes: u32,
    /// Samples sent so far: the session's audio time.
    samples: u64,
}

type Step = Result<Vec<SttEvent>, SttError>;

impl Task {
    async fn run(mut self, mut end: SttProviderEnd, mut reader: Reader) {
        let error = loop {
            let deadline = match &self.phase {
                Phase::Ending { deadline, .. } => Some(*deadline),
                _ => None,
            };
            let step: Step = tokio::select! {
                biased;
                () = end.events.closed() => break None,
                input = end.input.recv() => match input {
                    Some(input) => self.on_input(input).await,
                    None => break None,
                },
                got = socket::receive(&mut reader) => self.on_message(got).await,
                () = sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                    tracing::debug!("azure stt: no turn.end in time");
                    self.turn_ended().await
                }
            };
            match step {
                Ok(events) => {
                    if !deliver(&end, events).await {
                        break None;
                    }
                }
                Err(e) => break Some(e),
            }
        };
        socket::close(&mut self.writer, None).await;
        if let Some(e) = error {
            tracing::warn!(error = %e, "azure stt failed");
            let _ = end.events.send(SttEvent::Error(e)).await;
        }
    }

    fn audio_time(&self) -> Duration {
        Duration::from_micros(self.samples.saturating_mul(1_000_000) / u64::from(self.rate.max(1)))
    }

    async fn on_input(&mut self, input: SttInput) -> Step {
        match input {
            SttInput::Audio(pcm) => {
                if matches!(self.phase, Phase::Ending { .. }) {
                    self.hold(pcm);
                    return Ok(Vec::new());
                }
                self.send_audio(pcm).await?;
                Ok(Vec::new())
            }
            SttInput::Finish => self.on_finish().await,
        }
    }

    fn hold(&mut self, pcm: Vec<i16>) {
        self.held.push_back(pcm);
        let limit = MAX_HELD.as_secs() as usize * self.rate as usize;
        while self.held.iter().map(Vec::len).sum::<usize>() > limit {
            self.held.pop_front();
        }
    }

    async fn on_finish(&mut self) -> Step {
        self.pending_finishes += 1;
        match std::mem::replace(&mut self.phase, Phase::Idle) {
            // Nothing was said since the last turn: nothing to wait for.
            Phase::Idle => Ok(vec![self.answer()]),
            Phase::Streaming { id, base } => {
                self.send(&id, "audio", &[]).await?;
                let deadline = Instant::now() + self.finish_timeout;
                self.phase = Phase::Ending { id, base, deadline };
                Ok(Vec::new())
            }
            ending @ Phase::Ending { .. } => {
                self.phase = ending;
                Ok(Vec::new())
            }
        }
    }

    /// The `Final` answering one `finish()`.
    fn answer(&mut self) -> SttEvent {
        self.pending_finishes = self.pending_finishes.saturating_sub(1);
        self.turn.take(self.audio_time())
    }

    /// Sends audio, opening a turn first if none is.
    async fn send_audio(&mut self, pcm: Vec<i16>) -> Result<(), SttError> {
        let mut bytes: Vec<u8> = Vec::with_capacity(44 + pcm.len() * 2);
        let id = match &self.phase {
            Phase::Streaming { id, .. } => id.clone(),
            _ => {
                let id = self.open_turn().await?;
                bytes.extend_from_slice(&wire::wav_header(WavFormat::Pcm16, self.rate));
                id
            }
        };
        bytes.extend(pcm.iter().flat_map(|s| s.to_le_bytes()));
        self.samples += pcm.len() as u64;
        self.send(&id, "audio", &bytes).await
    }

    async fn open_turn(&mut self) -> Result<String, SttError> {
        let id = wire::new_id();
        if !self.configured {
            let config = speech_config(self.rate);
            self.send_text(&id, "speech.config", &config).await?;
            self.configured = true;
        }
        let context = self.context.clone();
        self.send_text(&id, "speech.context", &context).await?;
        let base = self.audio_time();
        self.phase = Phase::Streaming {
            id: id.clone(),
            base,
        };
        Ok(id)
    }

    async fn send_text(&mut self, id: &str, path: &str, body: &str) -> Result<(), SttError> {
        let ts = wire::timestamp();
        let headers = [
            ("Path", path),
            ("X-RequestId", id),
            ("X-Timestamp", ts.as_str()),
            ("Content-Type", "application/json"),
        ];
        let text = wire::encode_text(&headers, body);
        self.writer
            .send(Frame::text(text))
            .await
            .map_err(|e| SttError::Provider(e.to_string()))
    }

    async fn send(&mut self, id: &str, path: &str, body: &[u8]) -> Result<(), SttError> {
        let ts = wire::timestamp();
        let headers = [
            ("Path", path),
            ("X-RequestId", id),
            ("X-Timestamp", ts.as_str()),
            ("Content-Type", "audio/x-wav"),
        ];
        let bytes = wire::encode_binary(&headers, body).expect("headers fit in 64 KiB");
        self.writer
            .send(Frame::binary(bytes))
            .await
            .map_err(|e| SttError::Provider(e.to_string()))
    }

    /// `turn.end` (or its timeout): answers the pending `finish()`, then
    /// opens the next turn with the audio held meanwhile.
    async fn turn_ended(&mut self) -> Step {
        let solicited = matches!(self.phase, Phase::Ending { .. });
        self.phase = Phase::Idle;
        let mut events = Vec::new();
        if solicited || self.pending_finishes > 0 {
            events.push(self.answer());
        } else if !self.turn.is_empty() {
            // The service ended the turn by itself (its own time limits).
            events.push(self.turn.take(self.audio_time()));
        }
        while let Some(pcm) = self.held.pop_front() {
            self.send_audio(pcm).await?;
        }
        if self.pending_finishes > 0 {
            self.pending_finishes -= 1;
            events.extend(self.on_finish().await?);
        }
        Ok(events)
    }

    fn current(&self) -> Option<(&str, Duration)> {
        match &self.phase {
            Phase::Idle => None,
            Phase::Streaming { id, base } | Phase::Ending { id, base, .. } => Some((id, *base)),
        }
    }

    async fn on_message(&mut self, got: Result<Received, ReceiveError>) -> Step {
        let text = match got.map_err(|e| match e {
            ReceiveError::Transport(e) => SttError::Provider(e),
            ReceiveError::Malformed(e) => SttError::Protocol(e),
        })? {
            Received::Text(text) => text,
            Received::Binary(_) => return Err(SttError::Protocol("binary message from azure".into())),
            Received::Closed(frame) => {
                let why = frame.map_or("no close frame".into(), |(code, reason)| {
                    format!("{code} {reason}")
                });
                return Err(SttError::Provider(format!("azure closed the stream: {why}")));
            }
        };
        let (request, message) = messages::parse(&text).map_err(SttError::Protocol)?;
        let Some((id, base)) = self.current() else {
            return Ok(Vec::new());
        };
        // A late message of a turn we gave up on.
        if request.as_deref().is_some_and(|r| !r.eq_ignore_ascii_case(id)) {
            return Ok(Vec::new());
        }
        match message {
            ServerMessage::SpeechStarted { at } => Ok(vec![SttEvent::SpeechStarted {
                at: base.saturating_add(at),
            }]),
            ServerMessage::Hypothesis(h) if self.interim => {
                Ok(self.turn.interim(h, base).into_iter().collect())
            }
            ServerMessage::Phrase(Phrase::Words { heard, confidence }) => {
                self.turn.add(heard, confidence, base);
                Ok(Vec::new())
            }
            ServerMessage::Phrase(Phrase::Failed(status)) => Err(failed(&status)),
            ServerMessage::TurnEnd => self.turn_ended().await,
            _ => Ok(Vec::new()),
        }
    }
}

/// Sends events to the session; `false` once it is gone.
async fn deliver(end: &SttProviderEnd, events: Vec<SttEvent>) -> bool {
    for event in events {
        if end.events.send(event).await.is_err() {
            return false;
        }
    }
    true
}

/// A failed `RecognitionStatus`: a bad request or key will not pass, the rest may.
fn failed(status: &str) -> SttError {
    let message = format!("azure recognition status {status}");
    match status {
        "BadRequest" | "Forbidden" => SttError::Rejected(message),
        _ => SttError::Provider(message),
    }
}
