//! OpenAI speech-to-text: streaming over a Realtime transcription session
//! (see [`super::realtime`] for the protocol), or one REST request per
//! utterance ([`super::rest`]).
//!
//! Turn-taking is ours: server VAD is off, and each `finish()` commits the
//! audio buffer, which the server answers with one item whose transcript
//! streams as deltas (→ `Interim`) and ends as `completed` (→ `Final`). An
//! utterance shorter than the API's 100 ms minimum is not committed (the API
//! would refuse it) but answered with an empty `Final` in its turn.
//! Narrow-band calls send G.711 µ-law at 8 kHz as they are; wide-band calls
//! are resampled to the 24 kHz `pcm16` the API takes.
//!
//! When the socket cannot be opened (unreachable, timed out, 5xx or 429 on
//! the upgrade) the session runs over REST instead; a refused key does not
//! fall back. When the stream fails after utterances were committed (a
//! `failed` transcription, an error, a dropped connection), their kept audio
//! is transcribed over REST so that those turns still get their words; then
//! the session reports the error (a fallback chain takes over from there).

use std::time::Duration;

use media::codec::{Codec, Pcmu};
use media::resample::StreamResampler;
use tokio::time::{Instant, sleep_until};

use super::items::{Item, Items};
use super::realtime::{self, InputFormat, ServerEvent, SessionSetup};
use super::rest::{self, MIN_AUDIO};
use super::stt_config::{OpenAiSttConfig, SttMode};
use crate::adapter::speech::deepgram::config::stt_connect_error;
use crate::adapter::speech::deepgram::socket::{self, Reader, ReceiveError, Received, Writer};
use crate::application::ports::speech::{
    BoxFuture, SpeechToText, SttConfig, SttError, SttEvent, SttInput, SttProviderEnd,
    SttSampleRate, SttSession,
};

/// The OpenAI STT adapter.
#[derive(Debug, Clone)]
pub struct OpenAiStt {
    config: OpenAiSttConfig,
    client: reqwest::Client,
}

impl OpenAiStt {
    /// An adapter; fails only if the HTTP client cannot be built.
    pub fn new(config: OpenAiSttConfig) -> Result<Self, SttError> {
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .build()
            .map_err(|e| SttError::Connect(e.to_string()))?;
        Ok(Self { config, client })
    }

    fn request(&self, session: &SttConfig) -> rest::Request {
        let language = self.config.language.as_deref().unwrap_or(&session.language);
        rest::Request {
            client: self.client.clone(),
            config: self.config.clone(),
            language: realtime::iso_639_1(language),
            prompt: prompt(session),
            rate: session.sample_rate,
        }
    }

    /// Opens the socket and waits until the server took our configuration.
    async fn connect(&self, setup: &SessionSetup) -> Result<(Writer, Reader), SttError> {
        let c = &self.config;
        let (mut writer, mut reader) =
            socket::connect(&c.realtime_url(), &c.headers(), c.connect_timeout)
                .await
                .map_err(stt_connect_error)?;
        let configured = async {
            socket::send_json(&mut writer, &realtime::session_update(setup))
                .await
                .map_err(SttError::Connect)?;
            loop {
                match next_event(&mut reader).await? {
                    ServerEvent::Session { updated: true } => return Ok(()),
                    ServerEvent::Error(e) if e.is_refusal() => {
                        return Err(SttError::Rejected(e.to_string()));
                    }
                    ServerEvent::Error(e) => return Err(SttError::Provider(e.to_string())),
                    _ => {}
                }
            }
        };
        match tokio::time::timeout(c.connect_timeout, configured).await {
            Ok(Ok(())) => Ok((writer, reader)),
            Ok(Err(e)) => {
                socket::close(&mut writer, None).await;
                Err(e)
            }
            Err(_) => Err(SttError::Timeout {
                waited: c.connect_timeout,
                waiting_for: "the transcription session",
            }),
        }
    }
}

/// The session's prompt, else its hints as a list of words to expect.
fn prompt(session: &SttConfig) -> Option<String> {
    session
        .initial_prompt
        .clone()
        .filter(|p| !p.trim().is_empty())
        .or_else(|| (!session.hints.is_empty()).then(|| session.hints.join(", ")))
}

impl SpeechToText for OpenAiStt {
    fn open(&self, config: SttConfig) -> BoxFuture<'_, Result<SttSession, SttError>> {
        Box::pin(async move {
            let request = self.request(&config);
            if self.config.mode == SttMode::Realtime {
                let format = match config.sample_rate {
                    SttSampleRate::Hz8000 => InputFormat::G711Ulaw,
                    SttSampleRate::Hz16000 => InputFormat::Pcm16,
                };
                let setup = SessionSetup {
                    format,
                    model: self.config.model.clone(),
                    language: request.language.clone(),
                    prompt: request.prompt.clone(),
                };
                match self.connect(&setup).await {
                    Ok((writer, reader)) => {
                        let (session, end) =
                            SttSession::channel(config.clone(), SttSession::DEFAULT_QUEUE_FRAMES);
                        let task = Task::new(request, &config, writer, format)?;
                        tokio::spawn(task.run(end, reader));
                        return Ok(session);
                    }
                    Err(e @ (SttError::Rejected(_) | SttError::Provider(_))) => return Err(e),
                    Err(e) => {
                        tracing::warn!(error = %e, "openai realtime unavailable, transcribing over REST")
                    }
                }
            }
            let (session, end) = SttSession::channel(config, SttSession::DEFAULT_QUEUE_FRAMES);
            tokio::spawn(rest::run(request, end));
            Ok(session)
        })
    }
}

async fn next_event(reader: &mut Reader) -> Result<ServerEvent, SttError> {
    let got = socket::receive(reader).await.map_err(|e| match e {
        ReceiveError::Transport(e) => SttError::Provider(e),
        ReceiveError::Malformed(e) => SttError::Protocol(e),
    })?;
    match got {
        Received::Text(text) => realtime::parse(&text).map_err(SttError::Protocol),
        Received::Binary(_) => Err(SttError::Protocol(
            "binary message from the realtime API".into(),
        )),
        Received::Closed(frame) => {
            let why = frame.map_or("no close frame".into(), |(code, reason)| {
                format!("{code} {reason}")
            });
            Err(SttError::Provider(format!(
                "openai closed the stream: {why}"
            )))
        }
    }
}

/// Session PCM into the format the session was opened with.
enum Encoder {
    Ulaw(Pcmu),
    Pcm24(Box<StreamResampler>),
}

impl Encoder {
    fn new(format: InputFormat, rate: SttSampleRate) -> Result<Self, SttError> {
        Ok(match format {
            InputFormat::G711Ulaw => Self::Ulaw(Pcmu::new()),
            InputFormat::Pcm16 => Self::Pcm24(Box::new(
                StreamResampler::new(rate.hz(), 24_000)
                    .map_err(|e| SttError::Rejected(e.to_string()))?,
            )),
        })
    }

    fn encode(&mut self, pcm: &[i16]) -> Vec<u8> {
        match self {
            Self::Ulaw(codec) => {
                let mut out = vec![0u8; pcm.len()];
                let n = codec.encode(pcm, &mut out).unwrap_or(0);
                out.truncate(n);
                out
            }
            Self::Pcm24(r) => {
                let mut out = Vec::new();
                let le = |f: &[i16]| out.extend(f.iter().flat_map(|s| s.to_le_bytes()));
                let _ = r.push(pcm, le);
                out
            }
        }
    }

    /// The resampler's partial frame, padded (end of an utterance).
    fn flush(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        if let Self::Pcm24(r) = self {
            let _ = r.flush(|f: &[i16]| out.extend(f.iter().flat_map(|s| s.to_le_bytes())));
        }
        out
    }
}

/// Audio kept per utterance for a REST retry: two minutes at 16 kHz (the
/// API takes files up to 25 MB).
const MAX_KEPT_SAMPLES: usize = 120 * 16_000;

struct Task {
    rest: rest::Request,
    final_timeout: Duration,
    interim: bool,
    rate: SttSampleRate,
    writer: Writer,
    encoder: Encoder,
    /// The audio since the last commit (for a REST retry); `None` once it
    /// outgrew [`MAX_KEPT_SAMPLES`].
    kept: Option<Vec<i16>>,
    /// Samples pushed in the session, and since the last commit.
    heard: u64,
    buffered: u64,
    items: Items,
    out: Vec<SttEvent>,
}

impl Task {
    fn new(
        rest: rest::Request,
        session: &SttConfig,
        writer: Writer,
        format: InputFormat,
    ) -> Result<Self, SttError> {
        Ok(Self {
            final_timeout: rest.config.final_timeout,
            rest,
            interim: session.interim_results,
            rate: session.sample_rate,
            writer,
            encoder: Encoder::new(format, session.sample_rate)?,
            kept: Some(Vec::new()),
            heard: 0,
            buffered: 0,
            items: Items::default(),
            out: Vec::new(),
        })
    }

    async fn run(mut self, mut end: SttProviderEnd, mut reader: Reader) {
        let error = loop {
            let deadline = self.items.deadline();
            let step = tokio::select! {
                biased;
                () = end.events.closed() => break None,
                input = end.input.recv() => match input {
                    Some(input) => self.on_input(input).await,
                    None => break None,
                },
                got = next_event(&mut reader) => got.and_then(|e| self.on_event(e)),
                () = sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                    if self.items.expire(Instant::now()) {
                        tracing::warn!(waited = ?self.final_timeout, "openai transcript late; using its deltas");
                    }
                    Ok(())
                }
            };
            if !self.flush(&mut end).await {
                break None;
            }
            if let Err(e) = step {
                break Some(e);
            }
        };
        socket::close(&mut self.writer, None).await;
        if let Some(e) = error {
            tracing::warn!(error = %e, "openai realtime stt failed");
            self.rescue().await;
            if self.flush(&mut end).await {
                let _ = end.events.send(SttEvent::Error(e)).await;
            }
        }
    }

    /// Sends the events made and the `Final`s due; `false` once nobody listens.
    async fn flush(&mut self, end: &mut SttProviderEnd) -> bool {
        self.out.extend(self.items.settle());
        for event in self.out.drain(..) {
            if end.events.send(event).await.is_err() {
                return false;
            }
        }
        !end.events.is_closed()
    }

    /// Committed utterances still waiting, transcribed over REST in order
    /// from their kept audio; stops at the first that cannot be.
    async fn rescue(&mut self) {
        for item in self.items.unanswered() {
            if item.audio.is_empty() {
                break;
            }
            match rest::transcribe(&self.rest, &item.audio).await {
                Ok(text) => item.done = Some(text),
                Err(e) => {
                    tracing::warn!(error = %e, "openai rest retry failed");
                    break;
                }
            }
        }
    }

    async fn send(&mut self, event: serde_json::Value) -> Result<(), SttError> {
        socket::send_json(&mut self.writer, &event)
            .await
            .map_err(SttError::Provider)
    }

    async fn on_input(&mut self, input: SttInput) -> Result<(), SttError> {
        match input {
            SttInput::Audio(pcm) => {
                self.heard += pcm.len() as u64;
                self.buffered += pcm.len() as u64;
                if let Some(kept) = &mut self.kept {
                    match kept.len() + pcm.len() <= MAX_KEPT_SAMPLES {
                        true => kept.extend_from_slice(&pcm),
                        false => self.kept = None,
                    }
                }
                let audio = self.encoder.encode(&pcm);
                if audio.is_empty() {
                    return Ok(());
                }
                self.send(realtime::append(&audio)).await
            }
            SttInput::Finish => self.on_finish().await,
        }
    }

    async fn on_finish(&mut self) -> Result<(), SttError> {
        let span = (
            self.rate.duration_of(self.heard - self.buffered),
            self.rate.duration_of(self.heard),
        );
        let short = self.rate.duration_of(self.buffered) < MIN_AUDIO;
        let (tail, had_audio) = (self.encoder.flush(), self.buffered > 0);
        self.buffered = 0;
        // Empty when the utterance outgrew what is kept: no retry.
        let audio = self.kept.replace(Vec::new()).unwrap_or_default();
        if short {
            self.items.push(Item::empty(span));
            return match had_audio {
                true => self.send(realtime::buffer("clear")).await,
                false => Ok(()),
            };
        }
        let deadline = Instant::now() + self.final_timeout;
        self.items.push(Item::committed(audio, span, deadline));
        if !tail.is_empty() {
            self.send(realtime::append(&tail)).await?;
        }
        self.send(realtime::buffer("commit")).await
    }

    fn on_event(&mut self, event: ServerEvent) -> Result<(), SttError> {
        match event {
            ServerEvent::Committed { item_id } => self.items.committed(item_id),
            ServerEvent::Delta { item_id, delta } => {
                let interim = self.items.delta(&item_id, &delta);
                self.out.extend(interim.filter(|_| self.interim));
            }
            ServerEvent::Completed {
                item_id,
                transcript,
            } => self.items.completed(&item_id, transcript),
            ServerEvent::Failed { error, .. } => {
                return Err(SttError::Provider(format!("transcription failed: {error}")));
            }
            ServerEvent::Error(e) => return Err(SttError::Provider(e.to_string())),
            ServerEvent::Session { .. } | ServerEvent::Other(_) => {}
        }
        Ok(())
    }
}
