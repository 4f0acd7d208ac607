//! The synthesis handle the call task holds, and the end the provider keeps.

// The handle is the driver's end of a provider session: it times the
// provider's IO for its latency figures.
#![allow(clippy::disallowed_methods)]

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::{TtsConfig, TtsError, TtsEvent, TtsInput, TtsTiming};

/// Chunks buffered toward the call task. A provider faster than real time
/// fills it and then waits in `send`, which is the backpressure we want: the
/// pacer holds its own short buffer.
const EVENT_QUEUE: usize = 32;

/// Text pieces a reply may queue ahead of the provider.
const TEXT_QUEUE: usize = 32;

/// One synthesis, held by the call task. Dropping it cancels it.
#[derive(Debug)]
pub struct TtsSession {
    config: TtsConfig,
    input: mpsc::Sender<TtsInput>,
    events: mpsc::Receiver<TtsEvent>,
    timing: TtsTiming,
    next_piece: u32,
    finished: bool,
    ended: bool,
}

/// The provider's side: read [`TtsInput`]s, send [`TtsEvent`]s.
/// `events.closed()` resolves when the session is cancelled or dropped; await
/// it in the provider's `select!` to stop at once.
#[derive(Debug)]
pub struct TtsProviderEnd {
    /// Text pieces and the finish mark, in order.
    pub input: mpsc::Receiver<TtsInput>,
    /// Toward the call task.
    pub events: mpsc::Sender<TtsEvent>,
}

impl TtsSession {
    /// A session and its provider end.
    pub fn channel(config: TtsConfig) -> (Self, TtsProviderEnd) {
        // One slot more than text may use, so `finish` always fits.
        let (input_tx, input_rx) = mpsc::channel(TEXT_QUEUE + 1);
        let (events_tx, events_rx) = mpsc::channel(EVENT_QUEUE);
        let session = Self {
            config,
            input: input_tx,
            events: events_rx,
            timing: TtsTiming {
                opened_at: Instant::now(),
                first_text_at: None,
                first_audio_at: None,
                audio: std::time::Duration::ZERO,
                chunks: 0,
            },
            next_piece: 0,
            finished: false,
            ended: false,
        };
        let end = TtsProviderEnd {
            input: input_rx,
            events: events_tx,
        };
        (session, end)
    }

    /// The configuration it was opened with.
    pub fn config(&self) -> &TtsConfig {
        &self.config
    }

    /// Whether `recv` may still yield something.
    pub fn is_active(&self) -> bool {
        !self.ended
    }

    /// When things happened so far.
    pub fn timing(&self) -> &TtsTiming {
        &self.timing
    }

    /// Queues text to speak after what came before; returns its piece index.
    /// Never waits.
    pub fn send_text(&mut self, text: impl Into<String>) -> Result<u32, TtsError> {
        if self.ended || self.finished {
            return Err(TtsError::Closed);
        }
        if self.input.capacity() <= 1 {
            return Err(TtsError::Overrun {
                capacity: TEXT_QUEUE,
            });
        }
        let piece = self.next_piece;
        let text = text.into();
        self.input
            .try_send(TtsInput::Text { piece, text })
            .map_err(|_| TtsError::Closed)?;
        self.next_piece += 1;
        self.timing.first_text_at.get_or_insert_with(Instant::now);
        Ok(piece)
    }

    /// No more text: the provider speaks what is queued, then sends `Done`.
    pub fn finish(&mut self) -> Result<(), TtsError> {
        if self.ended {
            return Err(TtsError::Closed);
        }
        if !self.finished {
            self.input
                .try_send(TtsInput::Finish)
                .map_err(|_| TtsError::Closed)?;
            self.finished = true;
        }
        Ok(())
    }

    /// Stops at once (barge-in): buffered chunks are discarded, `recv` yields
    /// nothing more from the moment this returns, and the provider sees its
    /// event channel closed.
    pub fn cancel(&mut self) {
        self.ended = true;
        self.events.close();
        while self.events.try_recv().is_ok() {}
    }

    /// The next event; `None` once the synthesis ended. Cancel-safe. A
    /// provider that vanishes before `Done` is reported as
    /// [`TtsError::Closed`].
    pub async fn recv(&mut self) -> Option<TtsEvent> {
        if self.ended {
            return None;
        }
        let event = self
            .events
            .recv()
            .await
            .unwrap_or(TtsEvent::Error(TtsError::Closed));
        match &event {
            TtsEvent::Audio(chunk) => {
                self.timing.first_audio_at.get_or_insert_with(Instant::now);
                self.timing.audio += chunk.duration();
                self.timing.chunks += 1;
            }
            TtsEvent::Done | TtsEvent::Error(_) => self.cancel(),
        }
        Some(event)
    }
}
