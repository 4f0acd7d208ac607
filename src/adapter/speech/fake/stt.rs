//! The fake recogniser: the port side and its script.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::watch;

use crate::application::ports::speech::{BoxFuture, SpeechToText, SttConfig, SttError, SttSession};

mod recogniser;

/// How the fake recogniser behaves.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeSttConfig {
    /// Time between interim results while loud audio flows.
    pub interim_every: Duration,
    /// Delay from `finish()` to its `Final`.
    pub final_delay: Duration,
    /// Quiet time (no loud frame) after which an utterance is finalised
    /// without `finish()`; `None` waits for `finish()`.
    pub trailing_silence: Option<Duration>,
    /// Frame RMS at or above which a frame counts as speech (about -36 dBFS).
    pub energy_threshold: f64,
    /// How long `open` takes (the connection).
    pub open_delay: Duration,
    /// Input queue size in frames ([`SttSession::channel`]).
    pub queue_frames: usize,
}

impl Default for FakeSttConfig {
    fn default() -> Self {
        Self {
            interim_every: Duration::from_millis(200),
            final_delay: Duration::from_millis(150),
            trailing_silence: Some(Duration::from_millis(800)),
            energy_threshold: 500.0,
            open_delay: Duration::ZERO,
            queue_frames: SttSession::DEFAULT_QUEUE_FRAMES,
        }
    }
}

/// What the fake recogniser saw, across all its sessions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FakeSttLog {
    /// Sessions opened.
    pub opened: usize,
    /// The configuration of the last session opened.
    pub last_config: Option<SttConfig>,
    /// Audio frames received.
    pub frames: u64,
    /// Frames loud enough to count as speech.
    pub loud_frames: u64,
    /// `finish()` marks received.
    pub finishes: usize,
    /// The text of every `Final` sent, in order (the latest 1,024 at least).
    pub finals: Vec<String>,
    /// Sessions that ended by being cancelled or dropped.
    pub closed: usize,
}

#[derive(Debug, Default)]
pub(super) struct Script {
    pub(super) utterances: VecDeque<String>,
    pub(super) spoken: usize,
    fail_open: VecDeque<SttError>,
    pub(super) fail_after_frames: Option<(u64, SttError)>,
}

/// An in-process streaming recogniser for tests. Cheap to clone; clones share
/// the script and the log.
#[derive(Debug, Clone)]
pub struct FakeStt {
    config: FakeSttConfig,
    script: Arc<Mutex<Script>>,
    log: Arc<watch::Sender<FakeSttLog>>,
}

impl FakeStt {
    /// A recogniser with no script: utterances are called `utterance 1`, ….
    pub fn new(config: FakeSttConfig) -> Self {
        Self {
            config,
            script: Arc::default(),
            log: Arc::new(watch::Sender::new(FakeSttLog::default())),
        }
    }

    /// Queues what the next utterances "said", in order.
    pub fn expect_utterances<I: IntoIterator<Item = S>, S: Into<String>>(&self, texts: I) {
        let mut script = self.lock();
        script.utterances.extend(texts.into_iter().map(Into::into));
    }

    /// Makes the next `open` fail with `error`.
    pub fn fail_next_open(&self, error: SttError) {
        self.lock().fail_open.push_back(error);
    }

    /// Makes the next session send `error` after receiving `frames` frames.
    pub fn fail_after_frames(&self, frames: u64, error: SttError) {
        self.lock().fail_after_frames = Some((frames, error));
    }

    /// A copy of the log now.
    pub fn log(&self) -> FakeSttLog {
        self.log.borrow().clone()
    }

    /// A receiver to await a log condition with `wait_for`.
    pub fn watch(&self) -> watch::Receiver<FakeSttLog> {
        self.log.subscribe()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Script> {
        // A test that panicked while holding it already failed; keep going.
        self.script.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl SpeechToText for FakeStt {
    fn open(&self, config: SttConfig) -> BoxFuture<'_, Result<SttSession, SttError>> {
        Box::pin(async move {
            tokio::time::sleep(self.config.open_delay).await;
            let (failure, fail_after) = {
                let mut script = self.lock();
                (
                    script.fail_open.pop_front(),
                    script.fail_after_frames.take(),
                )
            };
            if let Some(error) = failure {
                return Err(error);
            }
            self.log.send_modify(|log| {
                log.opened += 1;
                log.last_config = Some(config.clone());
            });
            let (session, end) = SttSession::channel(config, self.config.queue_frames);
            let rate = session.config().sample_rate;
            let interim = session.config().interim_results;
            let task = recogniser::Recogniser {
                config: self.config.clone(),
                rate,
                interim,
                script: self.script.clone(),
                log: self.log.clone(),
                fail_after,
            };
            tokio::spawn(task.run(end));
            Ok(session)
        })
    }
}
