//! The fake synthesiser: the port side and its script.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::watch;

use crate::application::ports::speech::{
    BoxFuture, TextToSpeech, TtsConfig, TtsError, TtsOutput, TtsSession,
};

mod speaker;

/// How the fake synthesiser behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeTtsConfig {
    /// Native rate (22050 or 24000 like real neural voices); a
    /// [`TtsOutput::Linear16`] request overrides it.
    pub sample_rate: u32,
    /// Audio per character of text.
    pub per_char: Duration,
    /// Audio per chunk.
    pub chunk: Duration,
    /// How many times faster than real time chunks come (at least 1).
    pub speedup: u32,
    /// From the first text to the first chunk.
    pub first_audio_delay: Duration,
    /// How long `open` takes.
    pub open_delay: Duration,
}

impl Default for FakeTtsConfig {
    fn default() -> Self {
        Self {
            sample_rate: 24_000,
            per_char: Duration::from_millis(60),
            chunk: Duration::from_millis(100),
            speedup: 5,
            first_audio_delay: Duration::from_millis(120),
            open_delay: Duration::ZERO,
        }
    }
}

/// A scripted misbehaviour for the next session opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FakeTtsFailure {
    /// `open` fails with this.
    Open(TtsError),
    /// After this many chunks, send this error and stop.
    AfterChunks(u64, TtsError),
    /// After this many chunks (0: none at all), go silent until cancelled:
    /// the first-byte or stall timeout path.
    StallAfterChunks(u64),
}

/// What the fake synthesiser did, across all its sessions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FakeTtsLog {
    /// Sessions opened.
    pub opened: usize,
    /// Every text piece it was asked to speak, in order of arrival (the
    /// latest 1,024 at least: older ones are dropped in bulk).
    pub texts: Vec<String>,
    /// Chunks delivered.
    pub chunks: u64,
    /// Sessions that ended with `Done`.
    pub done: usize,
    /// Sessions that ended with an error.
    pub failed: usize,
    /// Sessions cancelled (or dropped) before they ended.
    pub cancelled: usize,
}

/// An in-process streaming synthesiser for tests. Cheap to clone; clones share
/// the script and the log.
#[derive(Debug, Clone)]
pub struct FakeTts {
    config: FakeTtsConfig,
    failures: Arc<Mutex<VecDeque<FakeTtsFailure>>>,
    log: Arc<watch::Sender<FakeTtsLog>>,
}

impl FakeTts {
    /// A synthesiser that works until told otherwise.
    pub fn new(config: FakeTtsConfig) -> Self {
        Self {
            config,
            failures: Arc::default(),
            log: Arc::new(watch::Sender::new(FakeTtsLog::default())),
        }
    }

    /// Scripts the next session opened (one failure per session, in order).
    pub fn fail_next(&self, failure: FakeTtsFailure) {
        self.failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push_back(failure);
    }

    /// A copy of the log now.
    pub fn log(&self) -> FakeTtsLog {
        self.log.borrow().clone()
    }

    /// A receiver to await a log condition with `wait_for`.
    pub fn watch(&self) -> watch::Receiver<FakeTtsLog> {
        self.log.subscribe()
    }
}

impl TextToSpeech for FakeTts {
    fn open(&self, config: TtsConfig) -> BoxFuture<'_, Result<TtsSession, TtsError>> {
        Box::pin(async move {
            tokio::time::sleep(self.config.open_delay).await;
            let failure = self
                .failures
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop_front();
            if let Some(FakeTtsFailure::Open(error)) = failure {
                return Err(error);
            }
            self.log.send_modify(|log| log.opened += 1);
            let sample_rate = match config.output {
                TtsOutput::Linear16 { sample_rate } => sample_rate,
                // It only speaks linear PCM, as several real providers do.
                TtsOutput::Native | TtsOutput::Mulaw8k => self.config.sample_rate,
            };
            let (session, end) = TtsSession::channel(config);
            let speaker = speaker::Speaker {
                config: FakeTtsConfig {
                    sample_rate,
                    ..self.config.clone()
                },
                failure,
                log: self.log.clone(),
            };
            tokio::spawn(speaker.run(end));
            Ok(session)
        })
    }
}
