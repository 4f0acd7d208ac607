//! Text-to-speech: the port, its configuration, events and session.

use std::time::Duration;

use tokio::time::Instant;

use super::BoxFuture;

/// A streaming speech synthesiser.
pub trait TextToSpeech: Send + Sync {
    /// Connects and configures a synthesis. Resolves once text may be sent.
    fn open(&self, config: TtsConfig) -> BoxFuture<'_, Result<TtsSession, TtsError>>;
}

/// The audio format asked of the provider: a request, not a promise; each
/// [`TtsChunk`] says what it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TtsOutput {
    /// Whatever the voice produces natively (no resampling at the provider).
    Native,
    /// 16-bit linear PCM at this rate.
    Linear16 {
        /// Samples per second.
        sample_rate: u32,
    },
    /// G.711 µ-law at 8 kHz, ready for RTP without resampling.
    Mulaw8k,
}

/// What to synthesise with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TtsConfig {
    /// The provider's voice name; `None` picks its default for the language.
    pub voice: Option<String>,
    /// BCP 47 language tag, e.g. `en-US`.
    pub language: String,
    /// The format asked for.
    pub output: TtsOutput,
}

/// Synthesised audio in the encoding it came in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TtsAudio {
    /// 16-bit linear PCM, mono.
    Linear16(Vec<i16>),
    /// G.711 µ-law bytes, mono.
    Mulaw(Vec<u8>),
}

/// A piece of synthesised audio.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TtsChunk {
    /// The samples.
    pub audio: TtsAudio,
    /// Their rate in Hz.
    pub sample_rate: u32,
    /// Which text piece (the index [`TtsSession::send_text`] returned) this
    /// audio speaks, so barge-in can tell what the caller heard.
    pub piece: u32,
}

impl TtsChunk {
    /// Number of samples.
    pub fn samples(&self) -> usize {
        match &self.audio {
            TtsAudio::Linear16(s) => s.len(),
            TtsAudio::Mulaw(b) => b.len(),
        }
    }

    /// Playing time.
    pub fn duration(&self) -> Duration {
        let rate = u64::from(self.sample_rate.max(1));
        Duration::from_micros(self.samples() as u64 * 1_000_000 / rate)
    }
}

/// What a synthesis yields: chunks, then `Done` or `Error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TtsEvent {
    /// More audio.
    Audio(TtsChunk),
    /// All text sent before `finish()` has been spoken; nothing follows.
    Done,
    /// The synthesis failed; nothing follows.
    Error(TtsError),
}

/// What travels from the session to the provider's task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TtsInput {
    /// Text to speak after what came before (usually one sentence).
    Text {
        /// Its index, echoed in [`TtsChunk::piece`].
        piece: u32,
        /// The text.
        text: String,
    },
    /// No more text: speak what is queued, then `Done`.
    Finish,
}

/// Why synthesis failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TtsError {
    /// Could not reach the provider.
    #[error("text-to-speech provider unreachable: {0}")]
    Connect(String),
    /// The provider refused the configuration, voice or credentials.
    #[error("text-to-speech provider refused the request: {0}")]
    Rejected(String),
    /// The provider reported an error mid-stream.
    #[error("text-to-speech provider failed: {0}")]
    Provider(String),
    /// The provider broke its protocol (unknown format, bad framing).
    #[error("text-to-speech provider broke the protocol: {0}")]
    Protocol(String),
    /// Nothing came back in time.
    #[error("text-to-speech timed out after {waited:?} waiting for {waiting_for}")]
    Timeout {
        /// How long it waited.
        waited: Duration,
        /// What for: `the connection`, `the first audio`.
        waiting_for: &'static str,
    },
    /// More text pieces queued than the provider has taken.
    #[error("text-to-speech provider is behind: {capacity} text pieces queued")]
    Overrun {
        /// The queue's size in pieces.
        capacity: usize,
    },
    /// The synthesis was cancelled, finished, failed earlier, or the provider
    /// went away.
    #[error("text-to-speech session closed")]
    Closed,
}

/// When things happened in a synthesis, as the call task saw them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TtsTiming {
    /// When the session was handed over.
    pub opened_at: Instant,
    /// The first text sent.
    pub first_text_at: Option<Instant>,
    /// The first audio received.
    pub first_audio_at: Option<Instant>,
    /// Audio received so far, in playing time.
    pub audio: Duration,
    /// Chunks received so far.
    pub chunks: u64,
}

impl TtsTiming {
    /// First text sent → first audio received ("time to first byte").
    pub fn time_to_first_audio(&self) -> Option<Duration> {
        Some(
            self.first_audio_at?
                .saturating_duration_since(self.first_text_at?),
        )
    }
}

mod session;
pub use session::{TtsProviderEnd, TtsSession};
