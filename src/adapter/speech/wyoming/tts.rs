//! Text-to-speech over Wyoming (`wyoming-piper`).
//!
//! Per text piece: `synthesize {text, voice?}` on a fresh connection, then the
//! server's `audio-start {rate, width, channels}`, `audio-chunk`s and
//! `audio-stop`. Pieces are spoken in order; cancel drops the connection.
//! The voice speaks at its native rate (Piper: 22050 Hz), whatever
//! [`TtsOutput`](crate::application::ports::speech::TtsOutput) asked for:
//! each chunk says its rate and the call resamples.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::{Instant, sleep_until};

use super::connection::{Connection, ConnectionError};
use super::messages::{self, Incoming};
use crate::application::ports::speech::{
    BoxFuture, TextToSpeech, TtsAudio, TtsChunk, TtsConfig, TtsError, TtsEvent, TtsInput,
    TtsProviderEnd, TtsSession,
};

/// Where and how to reach the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WyomingTtsConfig {
    /// `tcp://host:port` or `host:port` (the server's `--uri`).
    pub address: String,
    /// Voice name when the session asks for none (e.g. `en_US-lessac-medium`);
    /// `None` lets the server use its `--voice`.
    pub voice: Option<String>,
    /// Bound on each connect.
    pub connect_timeout: Duration,
    /// Longest silence from the server while a piece is being spoken.
    pub read_timeout: Duration,
}

impl WyomingTtsConfig {
    /// Defaults for a local server at `address`.
    pub fn new(address: impl Into<String>) -> Self {
        Self {
            address: address.into(),
            voice: None,
            connect_timeout: Duration::from_secs(2),
            read_timeout: Duration::from_secs(10),
        }
    }
}

/// The Wyoming TTS adapter.
#[derive(Debug, Clone)]
pub struct WyomingTts {
    config: WyomingTtsConfig,
}

impl WyomingTts {
    /// An adapter for one server.
    pub fn new(config: WyomingTtsConfig) -> Self {
        Self { config }
    }
}

impl TextToSpeech for WyomingTts {
    fn open(&self, config: TtsConfig) -> BoxFuture<'_, Result<TtsSession, TtsError>> {
        Box::pin(async move {
            // Connecting now proves the server is there and serves piece 0.
            let first = connect(&self.config).await?;
            let voice = config.voice.clone().or_else(|| self.config.voice.clone());
            let (session, end) = TtsSession::channel(config);
            let task = Task {
                config: self.config.clone(),
                voice,
                spare: Some(first),
            };
            tokio::spawn(task.run(end));
            Ok(session)
        })
    }
}

async fn connect(config: &WyomingTtsConfig) -> Result<Connection, TtsError> {
    Connection::connect(&config.address, config.connect_timeout)
        .await
        .map_err(|e| TtsError::Connect(e.to_string()))
}

struct Task {
    config: WyomingTtsConfig,
    voice: Option<String>,
    spare: Option<Connection>,
}

/// The piece being spoken.
struct Speaking {
    piece: u32,
    conn: Connection,
    deadline: Instant,
}

impl Task {
    async fn run(mut self, mut end: TtsProviderEnd) {
        let mut queue: VecDeque<(u32, String)> = VecDeque::new();
        let (mut finished, mut input_open) = (false, true);
        let mut speaking: Option<Speaking> = None;
        let result: Result<(), TtsError> = loop {
            if speaking.is_none() {
                if let Some((piece, text)) = queue.pop_front() {
                    match self.start(piece, &text).await {
                        Ok(s) => speaking = Some(s),
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
                    // The session is gone; `closed()` fires next.
                    None => input_open = false,
                },
                got = recv(speaking.as_mut()), if speaking.is_some() => {
                    let s = speaking.as_mut().expect("guarded");
                    s.deadline = Instant::now() + self.config.read_timeout;
                    match got {
                        Ok(Some(Incoming::AudioChunk(rate, pcm))) => {
                            let audio = TtsAudio::Linear16(pcm);
                            let chunk = TtsChunk { audio, sample_rate: rate, piece: s.piece };
                            if end.events.send(TtsEvent::Audio(chunk)).await.is_err() {
                                return;
                            }
                        }
                        Ok(Some(Incoming::AudioStop)) => speaking = None,
                        Ok(Some(Incoming::AudioStart(_) | Incoming::Other(_))) => {}
                        Ok(Some(Incoming::Error(text))) => break Err(TtsError::Provider(text)),
                        Ok(Some(Incoming::Transcript(_))) => {
                            break Err(TtsError::Protocol("transcript from a TTS server".into()));
                        }
                        Ok(None) => {
                            break Err(TtsError::Provider("the server closed before audio-stop".into()));
                        }
                        Err(e) => break Err(e),
                    }
                }
                () = sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                    break Err(TtsError::Timeout {
                        waited: self.config.read_timeout,
                        waiting_for: "audio",
                    });
                }
            }
        };
        let last = match result {
            Ok(()) => TtsEvent::Done,
            Err(e) => TtsEvent::Error(e),
        };
        let _ = end.events.send(last).await;
    }

    async fn start(&mut self, piece: u32, text: &str) -> Result<Speaking, TtsError> {
        let mut conn = match self.spare.take() {
            Some(conn) => conn,
            None => connect(&self.config).await?,
        };
        let request = messages::synthesize(text, self.voice.as_deref());
        conn.send(&request)
            .await
            .map_err(|e| TtsError::Provider(e.to_string()))?;
        let deadline = Instant::now() + self.config.read_timeout;
        Ok(Speaking {
            piece,
            conn,
            deadline,
        })
    }
}

/// The next server event while speaking; pends forever when not speaking.
async fn recv(speaking: Option<&mut Speaking>) -> Result<Option<Incoming>, TtsError> {
    let Some(s) = speaking else {
        return std::future::pending().await;
    };
    let event = s.conn.recv().await.map_err(|e| match e {
        ConnectionError::Frame(f) => TtsError::Protocol(f.to_string()),
        other => TtsError::Provider(other.to_string()),
    })?;
    event
        .map(messages::parse)
        .transpose()
        .map_err(TtsError::Protocol)
}
