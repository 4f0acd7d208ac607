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
use super::connection::{Dial, context, speech_config};
use super::messages::{self, Phrase, ServerMessage, Turn};
use super::wire::{self, WavFormat};
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
            let dial = Dial {
                url: c.stt_url(language).map_err(SttError::Connect)?.into(),
                auth: c.auth(),
                timeout: c.connect_timeout,
            };
            // Connecting at once: a refused key fails `open`, not the first turn.
            let (writer, reader) = dial.connect().await?;
            let task = Task {
                dial,
                reader: Some(reader),
                finish_timeout: c.finish_timeout,
                rate: config.sample_rate.hz(),
                interim: config.interim_results,
                context: context(&config.hints),
                writer: Some(writer),
                broken: false,
                configured: false,
                phase: Phase::Idle,
                turn: Turn::default(),
                held: VecDeque::new(),
                unacked: None,
                pending_finishes: 0,
                samples: 0,
            };
            let (session, end) = SttSession::channel(config, SttSession::DEFAULT_QUEUE_FRAMES);
            tokio::spawn(task.run(end));
            Ok(session)
        })
    }
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
    dial: Dial,
    /// The connection; `None` after the service closed it between turns
    /// (it ends idle and long-lived connections): the next turn reopens it.
    reader: Option<Reader>,
    writer: Option<Writer>,
    /// A write failed: the connection is not used for another turn.
    broken: bool,
    finish_timeout: Duration,
    rate: u32,
    interim: bool,
    context: String,
    /// Whether `speech.config` went (once per connection, with the first turn).
    configured: bool,
    phase: Phase,
    turn: Turn,
    /// Audio that came while a turn was ending.
    held: VecDeque<Vec<i16>>,
    /// The current turn's audio until the service acknowledges the turn
    /// (`turn.start`): a connection the service closed just as the turn
    /// began (its idle limit) loses nothing, the turn goes again on a new one.
    unacked: Option<Vec<Vec<i16>>>,
    /// `finish()`es not yet answered by a `Final`.
    pending_finishes: u32,
    /// Samples sent so far: the session's audio time.
    samples: u64,
}

type Step = Result<Vec<SttEvent>, SttError>;

impl Task {
    async fn run(mut self, mut end: SttProviderEnd) {
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
                got = receive(self.reader.as_mut()) => self.on_message(got).await,
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
        if let Some(writer) = self.writer.as_mut() {
            socket::close(writer, None).await;
        }
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
                self.send(&id, "audio", &[]).await;
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
        if let Some(unacked) = &mut self.unacked {
            unacked.push(pcm);
        }
        self.send(&id, "audio", &bytes).await;
        Ok(())
    }

    async fn open_turn(&mut self) -> Result<String, SttError> {
        if self.writer.is_none() || self.broken {
            let (writer, reader) = self.dial.connect().await?;
            (self.writer, self.reader) = (Some(writer), Some(reader));
            self.configured = false;
            self.broken = false;
        }
        let id = wire::new_id();
        if !self.configured {
            let config = speech_config(self.rate);
            self.send_text(&id, "speech.config", &config).await;
            self.configured = true;
        }
        let context = self.context.clone();
        self.send_text(&id, "speech.context", &context).await;
        let base = self.audio_time();
        self.unacked = Some(Vec::new());
        self.phase = Phase::Streaming {
            id: id.clone(),
            base,
        };
        Ok(id)
    }

    async fn send_text(&mut self, id: &str, path: &str, body: &str) {
        let ts = wire::timestamp();
        let headers = [
            ("Path", path),
            ("X-RequestId", id),
            ("X-Timestamp", ts.as_str()),
            ("Content-Type", "application/json"),
        ];
        self.write(Frame::text(wire::encode_text(&headers, body)))
            .await;
    }

    async fn send(&mut self, id: &str, path: &str, body: &[u8]) {
        let ts = wire::timestamp();
        let headers = [
            ("Path", path),
            ("X-RequestId", id),
            ("X-Timestamp", ts.as_str()),
            ("Content-Type", "audio/x-wav"),
        ];
        let bytes = wire::encode_binary(&headers, body).expect("headers fit in 64 KiB");
        self.write(Frame::binary(bytes)).await;
    }

    /// Sends a frame. A failed write is not an error by itself: the reader
    /// then says why the connection ended and whether the service began the
    /// turn ([`Task::lost`]); the next turn opens a new connection.
    async fn write(&mut self, frame: Frame) {
        let Some(writer) = self.writer.as_mut().filter(|_| !self.broken) else {
            return;
        };
        if let Err(e) = writer.send(frame).await {
            tracing::debug!(error = %e, "azure stt: write failed");
            self.broken = true;
        }
    }

    /// `turn.end` (or its timeout): answers the pending `finish()`, then
    /// opens the next turn with the audio held meanwhile.
    async fn turn_ended(&mut self) -> Step {
        let solicited = matches!(self.phase, Phase::Ending { .. });
        self.phase = Phase::Idle;
        self.unacked = None;
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

    fn between_turns(&self) -> bool {
        matches!(self.phase, Phase::Idle) && self.pending_finishes == 0
    }

    /// The service ended the connection between turns (it closes idle and
    /// long-lived ones): the next turn opens a new one.
    fn hang_up(&mut self) -> Vec<SttEvent> {
        tracing::debug!("azure stt: connection closed between turns");
        (self.reader, self.writer) = (None, None);
        Vec::new()
    }

    /// The connection broke mid-turn: the turn goes again on a new one if
    /// the service never began it, else the session fails (once per turn).
    async fn lost(&mut self, e: SttError) -> Step {
        let Some(audio) = self.unacked.take() else {
            return Err(e);
        };
        tracing::debug!(error = %e, "azure stt: connection lost before turn.start; replaying the turn");
        let ending = matches!(self.phase, Phase::Ending { .. });
        (self.reader, self.writer, self.phase) = (None, None, Phase::Idle);
        self.samples -= audio.iter().map(|a| a.len() as u64).sum::<u64>();
        for pcm in audio {
            self.send_audio(pcm).await?;
        }
        self.unacked = None;
        if ending {
            self.pending_finishes -= 1;
            return self.on_finish().await;
        }
        Ok(Vec::new())
    }

    async fn on_message(&mut self, got: Result<Received, ReceiveError>) -> Step {
        let got = match got {
            Ok(got) => got,
            Err(ReceiveError::Transport(_)) if self.between_turns() => return Ok(self.hang_up()),
            Err(ReceiveError::Transport(e)) => return self.lost(SttError::Provider(e)).await,
            Err(ReceiveError::Malformed(e)) => return Err(SttError::Protocol(e)),
        };
        let text = match got {
            Received::Text(text) => text,
            Received::Binary(_) => {
                return Err(SttError::Protocol("binary message from azure".into()));
            }
            // Between turns the service may end the connection: reopened on demand.
            Received::Closed(_) if self.between_turns() => return Ok(self.hang_up()),
            Received::Closed(frame) => {
                let why = frame.map_or("no close frame".into(), |(code, reason)| {
                    format!("{code} {reason}")
                });
                let e = SttError::Provider(format!("azure closed the stream: {why}"));
                return self.lost(e).await;
            }
        };
        let (request, message) = messages::parse(&text).map_err(SttError::Protocol)?;
        let Some((id, base)) = self.current() else {
            return Ok(Vec::new());
        };
        // A late message of a turn we gave up on.
        if request
            .as_deref()
            .is_some_and(|r| !r.eq_ignore_ascii_case(id))
        {
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
            ServerMessage::TurnStart => {
                self.unacked = None;
                Ok(Vec::new())
            }
            ServerMessage::TurnEnd => self.turn_ended().await,
            _ => Ok(Vec::new()),
        }
    }
}

/// The next message, or never while there is no connection.
async fn receive(reader: Option<&mut Reader>) -> Result<Received, ReceiveError> {
    match reader {
        Some(reader) => socket::receive(reader).await,
        None => std::future::pending().await,
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
