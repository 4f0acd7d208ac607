//! The media endpoint port: a call's audio path on the gateway's side.
//!
//! `open` binds the call's socket (UDP for RTP) and starts one task that owns
//! it and the call's media pipelines (`pkg/media`). The session talks to that
//! task only through the channels of [`MediaLeg`]: events come up (caller
//! audio for STT, VAD and DTMF); control commands (peer, flush on barge-in,
//! close) and agent audio go down on two separate channels ([`LegSender`]).
//! Dropping the senders, or [`MediaCommand::Close`], ends the task and
//! releases the socket and its port exactly once.
//!
//! # Agent audio and backpressure
//! TTS may produce audio much faster than real time (a local Piper voice
//! does). No agent audio is ever dropped for that: the media task reads the
//! audio channel only while its pacer holds less than a short lead (about
//! 2 s, see the endpoint's configuration), so the channel fills, the
//! session's send waits (`Sender::reserve`), the session stops reading the
//! TTS stream and the provider waits in its own send. Control commands never
//! queue behind audio: the task reads them first, from their own channel.
//!
//! Barge-in must cut everything at once, including audio still in the audio
//! channel: every [`AgentAudio`] carries the flush generation it was produced
//! in, [`MediaCommand::Flush`] the new generation, and the task drops audio of
//! an older generation unread. Audio of a newer generation than the task has
//! seen implies the flush (should it be read before the `Flush` itself).
//!
//! Memory per leg is bounded: the pacer's lead plus one chunk being sliced
//! into it, the audio channel's capacity in chunks, and the session's own
//! backlog (one TTS chunk, plus the failure prompt and the end marks).
//!
//! Caller audio travels in chunks of about 80 ms ([`CALLER_CHUNK`]), each one
//! buffer moved from the leg through the session to the STT: a continuous
//! caller costs the session and the recogniser a wake-up per chunk, not per
//! 20 ms frame. VAD and DTMF events never wait behind a chunk.

use super::orchestrator::BoxFuture;
use super::speech::SttAudio;
use super::telephony::{AudioTransport, WireFormat};
use crate::domain::CallId;
use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};
use tokio::sync::{mpsc, oneshot};

/// Caller audio at the STT rate, handed up in chunks of about
/// [`CALLER_CHUNK`] (shorter before a VAD or DTMF event, which never waits
/// behind audio, and at the leg's end). The samples go to the STT as they
/// are: one buffer per chunk, moved, never copied on the way.
#[derive(Clone)]
pub struct CallerAudio {
    /// Mono samples.
    pub pcm: Vec<i16>,
    /// Sample rate.
    pub rate: u32,
    /// Playout time of the chunk's first sample.
    pub at: Instant,
}

/// How much caller audio a leg gathers before handing it up: one event (a
/// session wake-up, an STT push) per 80 ms instead of per 20 ms frame.
pub const CALLER_CHUNK: Duration = Duration::from_millis(80);

impl CallerAudio {
    /// The samples.
    pub fn samples(&self) -> &[i16] {
        &self.pcm
    }

    /// Its length in time.
    pub fn duration(&self) -> Duration {
        Duration::from_nanos(self.pcm.len() as u64 * 1_000_000_000 / u64::from(self.rate.max(1)))
    }
}

impl std::fmt::Debug for CallerAudio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "CallerAudio({} samples at {} Hz)",
            self.pcm.len(),
            self.rate
        )
    }
}

/// What the media task reports.
#[derive(Debug, Clone)]
pub enum MediaEvent {
    /// Caller audio for STT.
    Audio(CallerAudio),
    /// The VAD heard speech begin (at the first speech frame's time).
    SpeechStarted {
        /// Onset.
        at: Instant,
        /// The sound heard is our own agent audio coming back (its envelope
        /// matches what the leg just sent, `vg_media::echo`).
        echo: bool,
    },
    /// The VAD heard a pause in speech (shorter than its hangover): speech
    /// may go on (`SpeechStarted` again) or end (`SpeechEnded`, same `at`).
    SpeechPaused {
        /// End of the last speech frame.
        at: Instant,
    },
    /// The VAD heard speech end (after its hangover, on the clock).
    SpeechEnded {
        /// End of the last speech frame.
        at: Instant,
    },
    /// A digit heard on the media path: RFC 4733 over RTP (Asterisk does not
    /// forward them to externalMedia), AudioSocket `0x03`, the media
    /// WebSocket's `DTMF_END`. ARI reports the same key press too: the
    /// session takes whichever comes first.
    Dtmf {
        /// `0-9`, `*`, `#`, `A-D`.
        digit: char,
    },
    /// The first packet arrived and the leg latched onto its source (RTP), or
    /// Asterisk connected and presented the call's id (AudioSocket).
    Latched {
        /// Asterisk's address.
        peer: SocketAddr,
    },
    /// A steady tone ended (while [`MediaCommand::WatchTones`] is on).
    Tone {
        /// Its first frame's start.
        start: Instant,
        /// Its last frame's end.
        end: Instant,
        /// Its frequency in Hz.
        hz: f32,
    },
    /// The first packet of agent audio went out since the leg opened, last
    /// drained or was flushed: once per reply, never per packet.
    FirstPacketSent {
        /// When it went out.
        at: Instant,
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

/// Control commands to the media task: read before any agent audio, and
/// never queued behind it.
#[derive(Debug)]
pub enum MediaCommand {
    /// Where to send RTP (Asterisk's `UNICASTRTP_LOCAL_*`); packets are then
    /// accepted only from that address. Until this or [`MediaCommand::Latch`]
    /// a leg accepts no packet.
    SetPeer(SocketAddr),
    /// Asterisk did not report its RTP address: take the first packet from
    /// the Asterisk host within a second of this command, and only it after.
    Latch,
    /// Open Asterisk's media WebSocket at this URL (chan_websocket's
    /// `/media/<MEDIA_WEBSOCKET_CONNECTION_ID>`); legs of other transports
    /// ignore it.
    Connect(String),
    /// Barge-in: drop everything queued at once, and every [`AgentAudio`] of
    /// a generation older than `generation` still on its way.
    Flush {
        /// The generation audio sent after this flush carries (greater than
        /// any sent before it).
        generation: u64,
        /// Answered with what was heard and dropped.
        reply: oneshot::Sender<FlushReport>,
    },
    /// Barge-in hold: stop sending agent audio at once, keeping every frame
    /// not yet sent (and taking more audio as usual), until
    /// [`MediaCommand::ResumePlayout`] or a [`MediaCommand::Flush`].
    PausePlayout,
    /// Listen for steady tones (an answering machine's beep) in the far
    /// end's audio and report each as [`MediaEvent::Tone`], or stop.
    WatchTones(bool),
    /// End a [`MediaCommand::PausePlayout`]: the held audio goes on from
    /// the first frame not sent.
    ResumePlayout,
    /// Push the caller's audio straight to this recogniser from now on
    /// (`None`: to none, as no recogniser is open), instead of handing it
    /// up as [`MediaEvent::Audio`]: the session is then not woken for it.
    /// Until the first `Listen` a leg hands its audio up. Either way the
    /// audio before a VAD or DTMF event is in before the event goes.
    Listen(Option<SttAudio>),
    /// End the leg.
    Close,
}

/// Agent audio in order, on the leg's audio channel.
#[derive(Debug)]
pub struct AgentAudio {
    /// The flush generation it belongs to: the task drops it unread if a
    /// later [`MediaCommand::Flush`] was seen.
    pub generation: u64,
    /// What to play.
    pub chunk: AudioChunk,
}

/// One message of agent audio.
#[derive(Debug)]
pub enum AudioChunk {
    /// Audio at any rate and length; queued behind earlier audio and paced
    /// out. A chunk larger than the pacer's room goes in slices as it drains.
    Pcm {
        /// Samples.
        pcm: Vec<i16>,
        /// Their rate.
        rate: u32,
    },
    /// No more audio in this reply: running dry now is not an underrun, and
    /// [`MediaEvent::PlaybackDrained`] follows once all of it is sent.
    EndOfSpeech,
}

/// The two ways into a media task. Dropping it ends the task.
#[derive(Debug, Clone)]
pub struct LegSender {
    /// Control commands. Small and rare: the channel never fills while the
    /// task runs, so they are sent without waiting.
    pub control: mpsc::Sender<MediaCommand>,
    /// Agent audio. The task reads it only while its pacer has room, so a
    /// sender faster than real time waits here (`reserve`): this channel's
    /// capacity, in chunks, is part of the leg's memory bound.
    pub audio: mpsc::Sender<AgentAudio>,
}

impl LegSender {
    /// Sends a control command without waiting.
    pub fn try_send(
        &self,
        command: MediaCommand,
    ) -> Result<(), mpsc::error::TrySendError<MediaCommand>> {
        self.control.try_send(command)
    }
}

/// A call's open media leg.
#[derive(Debug)]
pub struct MediaLeg {
    /// Our socket's (or listener's) address.
    pub local: SocketAddr,
    /// How Asterisk's externalMedia channel must reach this leg: the session
    /// passes it on without knowing which transport it is.
    pub attach: AudioTransport,
    /// Events from the media task.
    pub events: mpsc::Receiver<MediaEvent>,
    /// Control commands and agent audio to it.
    pub commands: LegSender,
}

/// Which externalMedia transport carries a call's audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// UnicastRTP over UDP: 8 kHz both ways (`slin16` is one-way there).
    #[default]
    Rtp,
    /// AudioSocket over TCP: `slin` or `slin16`, DTMF in-band.
    Audiosocket,
    /// chan_websocket's media WebSocket.
    Websocket,
}

impl Transport {
    /// Whether this transport carries `format` both ways on Asterisk 20.20.1
    /// (ari-fixtures/12 and 14): RTP drops our `slin16`; AudioSocket has
    /// only signed linear kinds.
    pub fn carries(self, format: WireFormat) -> bool {
        match self {
            Transport::Rtp => format != WireFormat::Slin16,
            Transport::Audiosocket => matches!(format, WireFormat::Slin | WireFormat::Slin16),
            Transport::Websocket => true,
        }
    }

    /// The format used when none is chosen: the best it carries both ways.
    pub fn default_format(self) -> WireFormat {
        match self {
            Transport::Rtp => WireFormat::Ulaw,
            Transport::Audiosocket | Transport::Websocket => WireFormat::Slin16,
        }
    }

    /// Its name in configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Rtp => "rtp",
            Transport::Audiosocket => "audiosocket",
            Transport::Websocket => "websocket",
        }
    }
}

/// What a leg needs to know.
#[derive(Debug, Clone)]
pub struct MediaRequest {
    /// The call (for logs and metrics).
    pub call: CallId,
    /// The transport (the route's choice, else the instance's).
    pub transport: Transport,
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
    Bind(#[source] super::Cause),
    /// This instance does not serve the transport (or not in that format).
    #[error("{0}")]
    Unsupported(String),
}

/// Opens media legs.
pub trait MediaEndpoint: Send + Sync {
    /// Binds a socket and starts the leg's task.
    fn open(&self, request: MediaRequest) -> BoxFuture<'_, Result<MediaLeg, MediaError>>;
}
