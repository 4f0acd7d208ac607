//! Settings of the UDP media endpoint.

use crate::adapter::config::MediaConfig;
pub use crate::adapter::config::PortRange;
use ::media::vad::{EnergyConfig, VadConfig};
use std::{net::IpAddr, time::Duration};

/// Which voice activity detector a leg runs on caller audio.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum VadChoice {
    /// Energy against an adaptive noise floor: cheap, fooled by loud noise.
    #[default]
    Energy,
    /// The `earshot` neural detector: better on noise, a few µs per frame.
    Earshot,
}

/// How the endpoint binds, advertises and listens.
#[derive(Debug, Clone)]
pub struct UdpMediaConfig {
    /// Local address every leg's socket binds to.
    pub bind: IpAddr,
    /// Address Asterisk is told to send to; `None` uses `bind`.
    pub advertise: Option<IpAddr>,
    /// Ports legs may use (inclusive).
    pub ports: PortRange,
    /// Lease even ports only (RTP convention, RTCP on +1). Off by default:
    /// Asterisk's UnicastRTP sends us no RTCP, so odd ports double capacity.
    pub even_ports_only: bool,
    /// The detector for caller speech.
    pub vad: VadChoice,
    /// Onset and hangover of the detector.
    pub vad_timing: VadConfig,
    /// Thresholds of the energy detector.
    pub energy: EnergyConfig,
    /// Capacity of a leg's event channel. Audio that does not fit is dropped
    /// and counted; a control event that does not fit is logged as an error,
    /// so this must cover the longest stall of the session's event loop.
    pub event_capacity: usize,
    /// Capacity of a leg's control channel (peer, flush, close): a handful
    /// of commands per call, read before anything else.
    pub command_capacity: usize,
    /// Capacity of a leg's agent-audio channel, in chunks (a TTS chunk is
    /// typically 20-100 ms). The leg reads it only while its pacer holds less
    /// than `play_lead`; a full channel makes the session wait, not drop.
    pub audio_capacity: usize,
    /// How much agent audio the leg keeps queued in its pacer ahead of the
    /// wire. Audio beyond it waits upstream (audio channel, session, TTS),
    /// so a leg holds at most this plus one chunk being sliced in, plus
    /// `audio_capacity` chunks in its channel.
    pub play_lead: Duration,
    /// The pacer's hard bound (`PacerConfig::max_queued`); raised to
    /// `play_lead` plus a few frames if below it.
    pub max_queued: Duration,
    /// The Asterisk host's addresses: a leg told to `Latch` (Asterisk reported
    /// no RTP address) takes its first packet only from one of these. Empty:
    /// only `SetPeer` opens a leg.
    pub asterisk_hosts: Vec<IpAddr>,
    /// Least and most playout delay of the RTP jitter buffer (between them,
    /// 4 × the measured jitter). Off RTP there is no jitter buffer.
    pub jitter_delay: (Duration, Duration),
    /// `SCHED_FIFO` priority of the pacing thread (1-99); 0: not real-time.
    pub pacing_priority: u8,
}

/// The gateway's default `media.vad_onset`: two frames. On the real Asterisk
/// the agent's audio stopped in the caller's ears 60-80 ms after the caller's
/// first sound with three frames (`make bench-turn`), against the issue's
/// 100 ms; a frame less takes 20 ms off every barge-in.
pub const VAD_ONSET: Duration = Duration::from_millis(40);

/// The VAD's timing with `onset` of sound (whole 20 ms frames, at least one)
/// before speech is declared.
pub fn vad_timing(onset: Duration) -> VadConfig {
    let frames = (onset.as_millis() / FRAME_MS).max(1);
    VadConfig {
        onset_frames: u32::try_from(frames).unwrap_or(u32::MAX),
        ..VadConfig::default()
    }
}

/// Milliseconds per RTP frame.
const FRAME_MS: u128 = 20;

impl UdpMediaConfig {
    /// Defaults around a bind address and a port range.
    pub fn new(bind: IpAddr, ports: PortRange) -> Self {
        Self {
            bind,
            advertise: None,
            ports,
            even_ports_only: false,
            vad: VadChoice::default(),
            vad_timing: vad_timing(VAD_ONSET),
            energy: EnergyConfig::default(),
            event_capacity: 256,
            command_capacity: 64,
            audio_capacity: 8,
            play_lead: Duration::from_secs(2),
            max_queued: Duration::from_secs(3),
            asterisk_hosts: Vec::new(),
            jitter_delay: (Duration::ZERO, Duration::from_millis(200)),
            pacing_priority: 0,
        }
    }

    /// From the `[media]` section of the gateway's configuration file.
    pub fn from_media_config(media: &MediaConfig) -> Self {
        Self {
            advertise: media.advertise_address,
            jitter_delay: (media.jitter_min_delay.0, media.jitter_max_delay.0),
            vad_timing: vad_timing(media.vad_onset.0),
            pacing_priority: media.pacing_priority,
            ..Self::new(media.bind_address, media.rtp_port_range)
        }
    }

    /// The address legs are advertised at.
    pub fn advertised(&self) -> IpAddr {
        self.advertise.unwrap_or(self.bind)
    }
}
