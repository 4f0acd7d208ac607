//! Speech-to-text over Wyoming (`scripts/whisper-server.py`, `wyoming-faster-whisper`).
//!
//! Wyoming STT is not streaming: per utterance it takes `transcribe`,
//! `audio-start`, `audio-chunk`s and `audio-stop`, answers one `transcript`
//! and closes the connection. So the session's `finish()` (driven by the VAD's
//! end of speech) is what produces a result; there are no interim results,
//! no `SpeechStarted` and no confidence. Each utterance gets its own
//! connection, opened at its first frame with sound; a transcript still
//! being computed does not hold up the next utterance's audio.
//!
//! Silence before an utterance is not sent: Whisper decodes everything it is
//! given (seconds of a caller listening to the agent cost decode time) and,
//! given long silence, tends to repeat the sentence that follows it. Quiet
//! frames wait in a short pre-roll instead, sent ahead of the first frame
//! with sound so the utterance's first syllable is whole.

use std::collections::VecDeque;
use std::time::Duration;

/// Quiet audio kept ahead of an utterance's first frame with sound.
const PRE_ROLL: Duration = Duration::from_millis(300);
/// A frame whose RMS is below this (about -50 dBFS) is silence to an
/// utterance that has not started; a quiet line, not a voice.
const SOUND_RMS: f64 = 103.0;

use tokio::time::{Instant, sleep_until};

use super::connection::{Connection, ConnectionError};
use super::messages::{self, Incoming};
use crate::application::ports::speech::{
    BoxFuture, SpeechToText, SttConfig, SttError, SttEvent, SttInput, SttProviderEnd,
    SttSampleRate, SttSession,
};

/// Where and how to reach the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WyomingSttConfig {
    /// `tcp://host:port` or `host:port` (the server's `--uri`).
    pub address: String,
    /// Model name for `transcribe`, when the server offers several.
    pub model: Option<String>,
    /// Bound on each connect.
    pub connect_timeout: Duration,
    /// From `audio-stop` to `transcript`.
    pub transcript_timeout: Duration,
}

impl WyomingSttConfig {
    /// Defaults for a local server at `address`.
    pub fn new(address: impl Into<String>) -> Self {
        Self {
            address: address.into(),
            model: None,
            connect_timeout: Duration::from_secs(2),
            transcript_timeout: Duration::from_secs(15),
        }
    }
}

/// The Wyoming STT adapter.
#[derive(Debug, Clone)]
pub struct WyomingStt {
    config: WyomingSttConfig,
}

impl WyomingStt {
    /// An adapter for one server.
    pub fn new(config: WyomingSttConfig) -> Self {
        Self { config }
    }
}

impl SpeechToText for WyomingStt {
    fn open(&self, config: SttConfig) -> BoxFuture<'_, Result<SttSession, SttError>> {
        Box::pin(async move {
            // Connecting now proves the server is there (fallback decides on
            // it) and saves the first utterance a connect.
            let first = connect(&self.config).await?;
            let (session, end) = SttSession::channel(config, SttSession::DEFAULT_QUEUE_FRAMES);
            let task = Task {
                config: self.config.clone(),
                session: session.config().clone(),
                spare: Some(first),
                streaming: None,
                pending: VecDeque::new(),
                samples: 0,
                pre_roll: VecDeque::new(),
            };
            tokio::spawn(task.run(end));
            Ok(session)
        })
    }

    /// Whisper works at 16 kHz, and the Wyoming server brings other rates
    /// there by linear interpolation (`audioop.ratecv`): the gateway's
    /// filter does it better.
    fn sample_rate(&self, _wire: SttSampleRate) -> SttSampleRate {
        SttSampleRate::Hz16000
    }
}

async fn connect(config: &WyomingSttConfig) -> Result<Connection, SttError> {
    Connection::connect(&config.address, config.connect_timeout)
        .await
        .map_err(|e| SttError::Connect(e.to_string()))
}

/// An utterance on its connection.
struct Utterance {
    /// `None` for a `finish()` without audio queued behind real ones: its
    /// empty `Final` must not overtake theirs.
    conn: Option<Connection>,
    start: std::time::Duration,
    end: std::time::Duration,
    deadline: Instant,
}

struct Task {
    config: WyomingSttConfig,
    session: SttConfig,
    spare: Option<Connection>,
    streaming: Option<Utterance>,
    /// Utterances after `audio-stop`, oldest first, awaiting `transcript`.
    pending: VecDeque<Utterance>,
    samples: u64,
    /// The latest quiet audio while no utterance streams (at most `PRE_ROLL`).
    pre_roll: VecDeque<i16>,
}

fn pre_roll_len(rate: u32) -> usize {
    (u128::from(rate) * PRE_ROLL.as_millis() / 1000) as usize
}

/// Whether `pcm` holds sound, not a quiet line.
fn has_sound(pcm: &[i16]) -> bool {
    !pcm.is_empty() && ::media::level::mean_square(pcm) >= SOUND_RMS * SOUND_RMS
}

impl Task {
    async fn run(mut self, mut end: SttProviderEnd) {
        let error = loop {
            let deadline = self.pending.front().map(|u| u.deadline);
            let step = tokio::select! {
                biased;
                () = end.events.closed() => return,
                input = end.input.recv() => match input {
                    Some(input) => self.on_input(input).await,
                    None => return,
                },
                got = recv(self.pending.front_mut()), if deadline.is_some() => {
                    self.on_reply(got)
                }
                got = recv(self.streaming.as_mut()), if self.streaming.is_some() => {
                    match got {
                        // `info` and the like are harmless mid-stream.
                        Ok(Some(Incoming::Other(_))) => Ok(None),
                        got => Err(unexpected(got)),
                    }
                }
                () = sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                    Err(SttError::Timeout {
                        waited: self.config.transcript_timeout,
                        waiting_for: "the transcript",
                    })
                }
            };
            match step {
                Ok(Some(event)) => {
                    if end.events.send(event).await.is_err() {
                        return;
                    }
                }
                Ok(None) => {}
                Err(error) => break error,
            }
        };
        let _ = end.events.send(SttEvent::Error(error)).await;
    }

    fn ms(&self) -> u64 {
        self.session
            .sample_rate
            .duration_of(self.samples)
            .as_millis() as u64
    }

    async fn on_input(&mut self, input: SttInput) -> Result<Option<SttEvent>, SttError> {
        let rate = self.session.sample_rate;
        let at = rate.duration_of(self.samples);
        match input {
            SttInput::Audio(pcm) => {
                if self.streaming.is_none() && !has_sound(&pcm) {
                    let cap = pre_roll_len(rate.hz()).max(pcm.len());
                    let over = (self.pre_roll.len() + pcm.len()).saturating_sub(cap);
                    self.pre_roll.drain(..over.min(self.pre_roll.len()));
                    self.pre_roll.extend(pcm.iter().copied());
                    self.samples += pcm.len() as u64;
                    return Ok(None);
                }
                if self.streaming.is_none() {
                    let mut conn = match self.spare.take() {
                        Some(conn) => conn,
                        None => connect(&self.config).await?,
                    };
                    let model = self.config.model.as_deref();
                    send(
                        &mut conn,
                        &messages::transcribe(&self.session.language, model),
                    )
                    .await?;
                    // The utterance starts where its pre-roll does.
                    let held = self.pre_roll.len() as u64;
                    let start_ms = rate.duration_of(self.samples - held).as_millis() as u64;
                    send(&mut conn, &messages::audio_start(rate.hz(), start_ms)).await?;
                    if held > 0 {
                        let pre: Vec<i16> = self.pre_roll.drain(..).collect();
                        send(&mut conn, &messages::audio_chunk(rate.hz(), start_ms, &pre)).await?;
                    }
                    let deadline = Instant::now();
                    self.streaming = Some(Utterance {
                        conn: Some(conn),
                        start: rate.duration_of(self.samples - held),
                        end: at,
                        deadline,
                    });
                }
                let chunk = messages::audio_chunk(rate.hz(), self.ms(), &pcm);
                self.samples += pcm.len() as u64;
                let end = rate.duration_of(self.samples);
                if let Some(Utterance {
                    conn: Some(conn),
                    end: until,
                    ..
                }) = self.streaming.as_mut()
                {
                    send(conn, &chunk).await?;
                    *until = end;
                }
                Ok(None)
            }
            SttInput::Finish => match self.streaming.take() {
                Some(mut utterance) => {
                    if let Some(conn) = utterance.conn.as_mut() {
                        send(conn, &messages::audio_stop(self.ms())).await?;
                    }
                    utterance.deadline = Instant::now() + self.config.transcript_timeout;
                    self.pending.push_back(utterance);
                    Ok(None)
                }
                // Nothing was said: answer at once, without the server.
                None if self.pending.is_empty() => Ok(Some(final_event(String::new(), at, at))),
                None => {
                    let deadline = Instant::now() + self.config.transcript_timeout;
                    let (start, end, conn) = (at, at, None);
                    self.pending.push_back(Utterance {
                        conn,
                        start,
                        end,
                        deadline,
                    });
                    Ok(None)
                }
            },
        }
    }

    fn on_reply(
        &mut self,
        got: Result<Option<Incoming>, SttError>,
    ) -> Result<Option<SttEvent>, SttError> {
        match got? {
            Some(Incoming::Transcript(text)) => {
                let u = self.pending.pop_front().expect("awaited the front");
                Ok(Some(final_event(text.trim().to_owned(), u.start, u.end)))
            }
            Some(Incoming::Other(_)) => Ok(None),
            other => Err(unexpected(Ok(other))),
        }
    }
}

fn final_event(text: String, start: Duration, end: Duration) -> SttEvent {
    SttEvent::Final {
        text,
        start,
        end,
        confidence: None,
    }
}

async fn send(conn: &mut Connection, event: &super::codec::Event) -> Result<(), SttError> {
    conn.send(event)
        .await
        .map_err(|e| SttError::Provider(e.to_string()))
}

/// The next server event on `utterance`'s connection; pends forever without one.
async fn recv(utterance: Option<&mut Utterance>) -> Result<Option<Incoming>, SttError> {
    let Some(u) = utterance else {
        return std::future::pending().await;
    };
    let Some(conn) = u.conn.as_mut() else {
        return Ok(Some(Incoming::Transcript(String::new())));
    };
    let event = conn.recv().await.map_err(|e| match e {
        ConnectionError::Frame(f) => SttError::Protocol(f.to_string()),
        other => SttError::Provider(other.to_string()),
    })?;
    event
        .map(messages::parse)
        .transpose()
        .map_err(SttError::Protocol)
}

fn unexpected(got: Result<Option<Incoming>, SttError>) -> SttError {
    match got {
        Err(e) => e,
        Ok(None) => SttError::Provider("the server closed the connection".into()),
        Ok(Some(Incoming::Error(text))) => SttError::Provider(text),
        Ok(Some(other)) => SttError::Protocol(format!("unexpected {other:?}")),
    }
}
