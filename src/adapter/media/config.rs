//! Settings of the UDP media endpoint.

use crate::adapter::config::MediaConfig;
pub use crate::adapter::config::PortRange;
use ::media::vad::{EnergyConfig, VadConfig};
use std::net::IpAddr;

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
    /// Capacity of a leg's command channel.
    pub command_capacity: usize,
}

impl UdpMediaConfig {
    /// Defaults around a bind address and a port range.
    pub fn new(bind: IpAddr, ports: PortRange) -> Self {
        Self {
            bind,
            advertise: None,
            ports,
            even_ports_only: false,
            vad: VadChoice::default(),
            vad_timing: VadConfig::default(),
            energy: EnergyConfig::default(),
            event_capacity: 256,
            command_capacity: 64,
        }
    }

    /// From the `[media]` section of the gateway's configuration file.
    pub fn from_media_config(media: &MediaConfig) -> Self {
        Self {
            advertise: media.advertise_address,
            ..Self::new(media.bind_address, media.rtp_port_range)
        }
    }

    /// The address legs are advertised at.
    pub fn advertised(&self) -> IpAddr {
        self.advertise.unwrap_or(self.bind)
    }
}
