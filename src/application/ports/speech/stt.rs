//! Speech-to-text: the port, its configuration, events and session.

use std::time::Duration;

use tokio::time::Instant;

use super::BoxFuture;

/// A streaming speech recogniser.
pub trait SpeechToText: Send + Sync {
    /// Connects and configures a recognition session. Resolves once the
    /// provider accepted the configuration; audio may be pushed right away.
    fn open(&self, config: SttConfig) -> BoxFuture<'_, Result<SttSession, SttError>>;

    /// The rate to push a call's audio at, for a call whose wire carries
    /// `wire`. By default the wire's own: telephony models are trained on
    /// it, and upsampling 8 kHz audio adds nothing for the recogniser but
    /// a resampler on every frame of every call (7 % of the gateway's CPU at
    /// 2,000 calls), twice the bytes to send and 2 ms of filter delay. A
    /// recogniser that works at 16 kHz and would upsample crudely itself
    /// asks for 16 kHz.
    fn sample_rate(&self, wire: SttSampleRate) -> SttSampleRate {
        wire
    }
}

/// The rate of the PCM a session carries (telephony narrow- or wide-band).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SttSampleRate {
    /// 8 kHz, what G.711 over RTP delivers.
    Hz8000,
    /// 16 kHz, from AudioSocket / WebSocket slin16 or resampled.
    Hz16000,
}

impl SttSampleRate {
    /// Samples per second.
    pub fn hz(self) -> u32 {
        match self {
            Self::Hz8000 => 8_000,
            Self::Hz16000 => 16_000,
        }
    }

    /// The rate of PCM at `hz`: 16 kHz and above are wideband.
    pub fn of(hz: u32) -> Self {
        if hz >= 16_000 {
            Self::Hz16000
        } else {
            Self::Hz8000
        }
    }

    /// The audio time `samples` samples at this rate span.
    pub fn duration_of(self, samples: u64) -> Duration {
        Duration::from_micros(samples * 1_000_000 / u64::from(self.hz()))
    }
}

/// How to recognise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SttConfig {
    /// BCP 47 language tag, e.g. `en-US`.
    pub language: String,
    /// Rate of the pushed PCM.
    pub sample_rate: SttSampleRate,
    /// Words or phrases to favour (names, products); providers without
    /// keyword boosting ignore them.
    pub hints: Vec<String>,
    /// Text that conditions the recogniser (Whisper's initial prompt).
    pub initial_prompt: Option<String>,
    /// Whether to emit [`SttEvent::Interim`]; providers that cannot (Wyoming)
    /// never do.
    pub interim_results: bool,
}

impl SttConfig {
    /// A configuration with interim results on, no hints and no prompt.
    pub fn new(language: impl Into<String>, sample_rate: SttSampleRate) -> Self {
        Self {
            language: language.into(),
            sample_rate,
            hints: Vec::new(),
            initial_prompt: None,
            interim_results: true,
        }
    }
}

/// What a recognition session reports. `start`/`end` are audio time since
/// the session's first pushed sample (not wall time: Asterisk sends no packets
/// during silence).
#[derive(Debug, Clone, PartialEq)]
pub enum SttEvent {
    /// The provider heard speech begin (for barge-in); not all providers say.
    SpeechStarted {
        /// Audio time of the onset.
        at: Duration,
    },
    /// A hypothesis that may still change.
    Interim {
        /// The words so far.
        text: String,
        /// Audio time where the utterance began.
        start: Duration,
        /// Audio time the hypothesis covers up to.
        end: Duration,
        /// 0..=1, when the provider gives one.
        confidence: Option<f32>,
    },
    /// The settled transcript of one utterance. Every [`SttSession::finish`]
    /// is answered by exactly one `Final` (its text empty if nothing was
    /// heard); providers that endpoint on their own may send more.
    Final {
        /// The transcript (may be empty).
        text: String,
        /// Audio time where the utterance began.
        start: Duration,
        /// Audio time where it ended.
        end: Duration,
        /// 0..=1; `None` from providers that do not report it (Wyoming).
        confidence: Option<f32>,
    },
    /// The session failed; nothing follows.
    Error(SttError),
}

/// What travels from the session to the provider's task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SttInput {
    /// Mono PCM at the session's rate.
    Audio(Vec<i16>),
    /// End of the current utterance: flush and answer with a `Final`.
    Finish,
}

/// Why recognition failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SttError {
    /// Could not reach the provider.
    #[error("speech-to-text provider unreachable: {0}")]
    Connect(String),
    /// The provider refused the configuration or credentials.
    #[error("speech-to-text provider refused the session: {0}")]
    Rejected(String),
    /// The provider reported an error mid-stream.
    #[error("speech-to-text provider failed: {0}")]
    Provider(String),
    /// The provider broke its protocol.
    #[error("speech-to-text provider broke the protocol: {0}")]
    Protocol(String),
    /// Nothing came back in time.
    #[error("speech-to-text timed out after {waited:?} waiting for {waiting_for}")]
    Timeout {
        /// How long it waited.
        waited: Duration,
        /// What for: `the connection`, `the final transcript`.
        waiting_for: &'static str,
    },
    /// The provider is slower than real time: its queue is full and this
    /// frame was dropped.
    #[error("speech-to-text provider is behind: {capacity} frames queued, frame dropped")]
    Overrun {
        /// The queue's size in frames.
        capacity: usize,
    },
    /// The session was cancelled, failed earlier, or the provider went away.
    #[error("speech-to-text session closed")]
    Closed,
}

/// When things happened in a session, as the call task saw them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SttTiming {
    /// When the session was handed over.
    pub opened_at: Instant,
    /// The first pushed audio.
    pub first_audio_at: Option<Instant>,
    /// The first interim or final result received.
    pub first_result_at: Option<Instant>,
    /// The last `finish()`.
    pub last_finish_at: Option<Instant>,
    /// The last `Final` received.
    pub last_final_at: Option<Instant>,
    /// Frames dropped because the provider was behind.
    pub dropped_frames: u64,
    /// Samples accepted so far.
    pub samples: u64,
}

impl SttTiming {
    /// First audio pushed → first result.
    pub fn time_to_first_result(&self) -> Option<Duration> {
        Some(
            self.first_result_at?
                .saturating_duration_since(self.first_audio_at?),
        )
    }

    /// Last `finish()` → its `Final` (the STT share of turn latency).
    pub fn finish_to_final(&self) -> Option<Duration> {
        let (finish, fin) = (self.last_finish_at?, self.last_final_at?);
        (fin >= finish).then(|| fin - finish)
    }
}

mod session;
pub use session::{SttAudio, SttProviderEnd, SttSession};
