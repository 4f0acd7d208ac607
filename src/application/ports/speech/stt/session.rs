//! The session handle the call task holds, and the end the provider keeps.

// The handle is the driver's end of a provider session: it times the
// provider's IO for its latency figures.
#![allow(clippy::disallowed_methods)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::{SttConfig, SttError, SttEvent, SttInput, SttTiming};

/// Events buffered toward the call task; a provider that gets this far ahead
/// waits (its `send` awaits), which is harmless: events are small and rare.
const EVENT_QUEUE: usize = 64;

/// One recognition session, held by the call task. Dropping it cancels it.
#[derive(Debug)]
pub struct SttSession {
    config: SttConfig,
    audio: SttAudio,
    events: mpsc::Receiver<SttEvent>,
    timing: SttTiming,
    /// The pushes accepted when the last `Finish` was queued: a second one
    /// with no audio since would be a no-op and must not eat the slot kept
    /// for the next one.
    finished_at: Option<u64>,
    ended: bool,
}

/// The audio way into an [`SttSession`]: the media leg pushes the caller's
/// audio through it straight to the provider, so the call task is not woken
/// for every chunk (12.5 times a second per call). Clones share the
/// session's counters; the session's own [`SttSession::push_audio`] goes
/// the same way.
#[derive(Debug, Clone)]
pub struct SttAudio {
    input: mpsc::Sender<SttInput>,
    pushed: Arc<Pushed>,
}

/// What went through an [`SttAudio`], read into [`SttTiming`].
#[derive(Debug, Default)]
struct Pushed {
    first_at: OnceLock<Instant>,
    /// Pushes accepted (an empty one counts: it still re-arms `finish`).
    pushes: AtomicU64,
    samples: AtomicU64,
    dropped: AtomicU64,
}

impl SttAudio {
    /// Queues a chunk of mono PCM at the session's rate (a `Vec` is moved,
    /// not copied). Never waits: when the provider is behind, it is dropped
    /// and counted and [`SttError::Overrun`] returned; once the provider is
    /// gone, [`SttError::Closed`].
    pub fn push(&self, pcm: impl Into<Vec<i16>>) -> Result<(), SttError> {
        let overrun = || {
            self.pushed.dropped.fetch_add(1, Ordering::Relaxed);
            SttError::Overrun {
                capacity: self.input.max_capacity() - 1,
            }
        };
        // The last free slot belongs to `finish`.
        if self.input.capacity() <= 1 {
            return Err(overrun());
        }
        let pcm = pcm.into();
        let samples = pcm.len() as u64;
        match self.input.try_send(SttInput::Audio(pcm)) {
            Ok(()) => {
                self.pushed.first_at.get_or_init(Instant::now);
                self.pushed.samples.fetch_add(samples, Ordering::Relaxed);
                // After the send: a `finish` that reads the count before it
                // may queue a second `Finish` in a race, never miss one.
                self.pushed.pushes.fetch_add(1, Ordering::Release);
                Ok(())
            }
            Err(mpsc::error::TrySendError::Full(_)) => Err(overrun()),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(SttError::Closed),
        }
    }
}

/// The provider's side of a session: read [`SttInput`]s, send [`SttEvent`]s.
/// `events.closed()` resolves when the session is cancelled or dropped; await
/// it in the provider's `select!` to stop at once.
#[derive(Debug)]
pub struct SttProviderEnd {
    /// Audio and finish marks, in the order the call task queued them.
    pub input: mpsc::Receiver<SttInput>,
    /// Toward the call task.
    pub events: mpsc::Sender<SttEvent>,
}

impl SttSession {
    /// Input queue of 50 pushes: a second of 20 ms frames, four of the
    /// 80 ms chunks a media leg hands up (`ports::media::CALLER_CHUNK`).
    pub const DEFAULT_QUEUE_FRAMES: usize = 50;

    /// A session and its provider end; `queue_frames` (at least 2) bounds the
    /// audio the provider may fall behind by.
    pub fn channel(config: SttConfig, queue_frames: usize) -> (Self, SttProviderEnd) {
        // One slot more than the audio may use, so `finish` always fits.
        let capacity = queue_frames.max(2) + 1;
        let (input_tx, input_rx) = mpsc::channel(capacity);
        let (events_tx, events_rx) = mpsc::channel(EVENT_QUEUE);
        let session = Self {
            config,
            audio: SttAudio {
                input: input_tx,
                pushed: Arc::default(),
            },
            events: events_rx,
            timing: SttTiming {
                opened_at: Instant::now(),
                first_audio_at: None,
                first_result_at: None,
                last_finish_at: None,
                last_final_at: None,
                dropped_frames: 0,
                samples: 0,
            },
            finished_at: None,
            ended: false,
        };
        let end = SttProviderEnd {
            input: input_rx,
            events: events_tx,
        };
        (session, end)
    }

    /// The configuration it was opened with.
    pub fn config(&self) -> &SttConfig {
        &self.config
    }

    /// Whether `recv` may still yield something.
    pub fn is_active(&self) -> bool {
        !self.ended
    }

    /// When things happened so far.
    pub fn timing(&self) -> SttTiming {
        let pushed = &self.audio.pushed;
        SttTiming {
            first_audio_at: pushed.first_at.get().copied(),
            samples: pushed.samples.load(Ordering::Relaxed),
            dropped_frames: pushed.dropped.load(Ordering::Relaxed),
            ..self.timing
        }
    }

    /// The way in for caller audio, for the media leg to push to directly.
    pub fn audio(&self) -> SttAudio {
        self.audio.clone()
    }

    /// Queues a frame or chunk of mono PCM at the session's rate (a `Vec` is
    /// moved, not copied). Never waits: when the provider is behind, it is
    /// dropped and counted and
    /// [`SttError::Overrun`] returned; after the end, [`SttError::Closed`].
    pub fn push_audio(&mut self, pcm: impl Into<Vec<i16>>) -> Result<(), SttError> {
        if self.ended {
            return Err(SttError::Closed);
        }
        self.audio.push(pcm)
    }

    /// Ends the current utterance; the provider answers with one
    /// [`SttEvent::Final`]. A repeated `finish` with no audio in between is a
    /// no-op. Never waits.
    pub fn finish(&mut self) -> Result<(), SttError> {
        if self.ended {
            return Err(SttError::Closed);
        }
        let pushes = self.audio.pushed.pushes.load(Ordering::Acquire);
        if self.finished_at == Some(pushes) {
            return Ok(());
        }
        self.audio
            .input
            .try_send(SttInput::Finish)
            .map_err(|_| SttError::Closed)?;
        self.finished_at = Some(pushes);
        self.timing.last_finish_at = Some(Instant::now());
        Ok(())
    }

    /// Abandons the session: queued events are discarded, `recv` yields
    /// nothing more, and the provider sees its event channel closed.
    pub fn cancel(&mut self) {
        self.ended = true;
        self.events.close();
        while self.events.try_recv().is_ok() {}
    }

    /// The next event; `None` once the session ended. Cancel-safe. A provider
    /// that vanishes without an `Error` is reported as [`SttError::Closed`].
    pub async fn recv(&mut self) -> Option<SttEvent> {
        if self.ended {
            return None;
        }
        let event = self
            .events
            .recv()
            .await
            .unwrap_or(SttEvent::Error(SttError::Closed));
        let now = Instant::now();
        match &event {
            SttEvent::Interim { .. } => {
                self.timing.first_result_at.get_or_insert(now);
            }
            SttEvent::Final { .. } => {
                self.timing.first_result_at.get_or_insert(now);
                self.timing.last_final_at = Some(now);
            }
            SttEvent::Error(_) => self.cancel(),
            SttEvent::SpeechStarted { .. } => {}
        }
        Some(event)
    }
}
