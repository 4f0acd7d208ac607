//! The media endpoint port: a call's audio path on the gateway's side.
//!
//! `open` binds the call's socket (UDP for RTP) and starts one task that owns
//! it and the call's media pipelines (`pkg/media`). The session talks to that
//! task only through the two channels of [`MediaLeg`]: events come up (caller
//! audio for STT, VAD and DTMF), commands go down (agent audio to play, flush on
//! barge-in). Dropping the command sender, or [`MediaCommand::Close`], ends the
//! task and releases the socket and its port exactly once.
//!
//! Audio frames travel by value in fixed arrays, so the per-frame path does not
//! touch the heap.

use super::orchestrator::BoxFuture;
use super::telephony::WireFormat;
use crate::domain::CallId;
use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};
use tokio::sync::{mpsc, oneshot};

/// Samples in the largest frame carried: 20 ms at 16 kHz.
pub const MAX_FRAME_SAMPLES: usize = 320;

/// 20 ms of caller audio at the STT rate.
#[derive(Clone, Copy)]
pub struct AudioFrame {
    /// Samples; only the first `len` are valid.
    pub pcm: [i16; MAX_FRAME_SAMPLES],
    /// Valid samples.
    pub len: u16,
    /// Sample rate.
    pub rate: u32,
    /// Playout time of the frame's first sample.
    pub at: Instant,
}

impl AudioFrame {
    /// The valid samples.
    pub fn samples(&self) -> &[i16] {
        &self.pcm[..usize::from(self.len)]
    }
}

impl std::fmt::Debug for AudioFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AudioFrame({} samples at {} Hz)", self.len, self.rate)
    }
}

/// What the media task reports.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // frames by value keep the per-frame path off the heap
pub enum MediaEvent {
    /// Caller audio for STT.
    Audio(AudioFrame),
    /// The VAD heard speech begin (at the first speech frame's time).
    SpeechStarted {
        /// Onset.
        at: Instant,
    },
    /// The VAD heard speech end (after its hangover, on the clock).
    SpeechEnded {
        /// End of the last speech frame.
        at: Instant,
    },
    /// An RFC 4733 digit (when Asterisk forwards them; usually DTMF comes from ARI).
    Dtmf {
        /// `0-9`, `*`, `#`, `A-D`.
        digit: char,
    },
    /// The first packet arrived and the leg latched onto its source.
    Latched {
        /// Asterisk's address.
        peer: SocketAddr,
    },
    /// The agent audio queued so far has all been sent.
    PlaybackDrained {
        /// When the last packet went out.
        at: Instant,
    },
}

/// What happened to queued audio on a flush.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlushReport {
    /// Audio dropped from the queue.
    pub dropped: Duration,
    /// Audio actually sent in the talkspurt that was cut (what the caller heard).
    pub sent: Duration,
    /// When the last packet went out, if any.
    pub last_packet_at: Option<Instant>,
}

/// Commands to the media task.
#[derive(Debug)]
pub enum MediaCommand {
    /// Where to send RTP (Asterisk's `UNICASTRTP_LOCAL_*`); packets are then
    /// accepted only from that address.
    SetPeer(SocketAddr),
    /// Agent audio at any rate; queued behind earlier audio and paced out.
    Play {
        /// Samples.
        pcm: Vec<i16>,
        /// Their rate.
        rate: u32,
    },
    /// No more audio in this reply: running dry now is not an underrun.
    EndOfSpeech,
    /// Barge-in: drop everything queued at once.
    Flush(oneshot::Sender<FlushReport>),
    /// End the leg.
    Close,
}

/// A call's open media leg.
#[derive(Debug)]
pub struct MediaLeg {
    /// Our socket's address, for externalMedia's `external_host`.
    pub local: SocketAddr,
    /// Events from the media task.
    pub events: mpsc::Receiver<MediaEvent>,
    /// Commands to it.
    pub commands: mpsc::Sender<MediaCommand>,
}

/// What a leg needs to know.
#[derive(Debug, Clone)]
pub struct MediaRequest {
    /// The call (for logs and metrics).
    pub call: CallId,
    /// Encoding on the wire.
    pub format: WireFormat,
    /// Rate the STT wants caller audio at.
    pub stt_rate: u32,
}

/// Why a leg could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    /// Every port of the range is in use.
    #[error("no free media port in {0}")]
    NoPort(String),
    /// The socket could not be bound.
    #[error("cannot bind media socket: {0}")]
    Bind(String),
}

/// Opens media legs.
pub trait MediaEndpoint: Send + Sync {
    /// Binds a socket and starts the leg's task.
    fn open(&self, request: MediaRequest) -> BoxFuture<'_, Result<MediaLeg, MediaError>>;
}
