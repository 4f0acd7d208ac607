//! The session handle the call task holds, and the end the provider keeps.

// The handle is the driver's end of a provider session: it times the
// provider's IO for its latency figures.
#![allow(clippy::disallowed_methods)]

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
    input: mpsc::Sender<SttInput>,
    events: mpsc::Receiver<SttEvent>,
    capacity: usize,
    timing: SttTiming,
    /// The last thing queued was `Finish`: a second one would be a no-op and
    /// must not eat the slot kept for the next one.
    finish_queued: bool,
    ended: bool,
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
            input: input_tx,
            events: events_rx,
            capacity,
            timing: SttTiming {
                opened_at: Instant::now(),
                first_audio_at: None,
                first_result_at: None,
                last_finish_at: None,
                last_final_at: None,
                dropped_frames: 0,
                samples: 0,
            },
            finish_queued: false,
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
    pub fn timing(&self) -> &SttTiming {
        &self.timing
    }

    /// Queues a frame or chunk of mono PCM at the session's rate (a `Vec` is
    /// moved, not copied). Never waits: when the provider is behind, it is
    /// dropped and counted and
    /// [`SttError::Overrun`] returned; after the end, [`SttError::Closed`].
    pub fn push_audio(&mut self, pcm: impl Into<Vec<i16>>) -> Result<(), SttError> {
        if self.ended {
            return Err(SttError::Closed);
        }
        // The last free slot belongs to `finish`.
        if self.input.capacity() <= 1 {
            self.timing.dropped_frames += 1;
            return Err(SttError::Overrun {
                capacity: self.capacity - 1,
            });
        }
        let pcm = pcm.into();
        let samples = pcm.len() as u64;
        match self.input.try_send(SttInput::Audio(pcm)) {
            Ok(()) => {
                self.timing.first_audio_at.get_or_insert_with(Instant::now);
                self.timing.samples += samples;
                self.finish_queued = false;
                Ok(())
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.timing.dropped_frames += 1;
                Err(SttError::Overrun {
                    capacity: self.capacity - 1,
                })
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Err(SttError::Closed),
        }
    }

    /// Ends the current utterance; the provider answers with one
    /// [`SttEvent::Final`]. A repeated `finish` with no audio in between is a
    /// no-op. Never waits.
    pub fn finish(&mut self) -> Result<(), SttError> {
        if self.ended {
            return Err(SttError::Closed);
        }
        if self.finish_queued {
            return Ok(());
        }
        self.input
            .try_send(SttInput::Finish)
            .map_err(|_| SttError::Closed)?;
        self.finish_queued = true;
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
