//! [`UdpMediaEndpoint`]: the [`MediaEndpoint`] port over per-call UDP sockets.

use super::config::{UdpMediaConfig, VadChoice};
use super::emit::Emitter;
use super::leg::Leg;
use super::metrics::MediaMetrics;
use super::pool::{BindError, PortPool};
use super::setup;
use crate::application::ports::{
    media::{LegSender, MediaEndpoint, MediaError, MediaLeg, MediaRequest},
    orchestrator::BoxFuture,
    telephony::WireFormat,
};
use ::media::pacer::FRAME_DURATION;
use ::media::pipeline::{InboundPipeline, OutboundPipeline};
use ::media::vad::{EarshotConfig, EarshotVad, EnergyVad, VoiceActivityDetector};
use std::{net::SocketAddr, sync::Arc, time::Duration};
use tokio::sync::mpsc;

/// Opens media legs on UDP sockets from a port range, one task per leg.
#[derive(Debug, Clone)]
pub struct UdpMediaEndpoint {
    config: Arc<UdpMediaConfig>,
    pool: Arc<PortPool>,
    metrics: MediaMetrics,
    /// `config.asterisk_hosts`, shared by every leg without a copy each.
    asterisk_hosts: Arc<[std::net::IpAddr]>,
}

impl UdpMediaEndpoint {
    /// An endpoint with its own, unregistered counters.
    pub fn new(config: UdpMediaConfig) -> Self {
        Self {
            pool: PortPool::new(config.ports, config.even_ports_only),
            asterisk_hosts: Arc::from(config.asterisk_hosts.as_slice()),
            config: Arc::new(config),
            metrics: MediaMetrics::default(),
        }
    }

    /// Counts into `metrics` (e.g. from [`MediaMetrics::register`]).
    pub fn with_metrics(mut self, metrics: MediaMetrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// The counters of all legs.
    pub fn metrics(&self) -> &MediaMetrics {
        &self.metrics
    }

    /// Ports free now (legs release theirs when their task ends).
    pub fn free_ports(&self) -> usize {
        self.pool.free()
    }

    /// The pacer's bound: room for the lead and the frames an end of speech
    /// adds after it.
    fn max_queued(&self) -> Duration {
        let c = &self.config;
        c.max_queued.max(self.play_lead() + FRAME_DURATION * 4)
    }

    /// The lead, at least a few frames so the pacer never runs dry between
    /// two slices.
    fn play_lead(&self) -> Duration {
        self.config.play_lead.max(FRAME_DURATION * 3)
    }

    /// Builds the pipelines first, so a request they refuse takes no port.
    fn open_leg(&self, request: MediaRequest) -> Result<MediaLeg, MediaError> {
        let c = &self.config;
        let inbound = setup::inbound(request.format, request.stt_rate);
        let outbound = OutboundPipeline::new(setup::outbound(request.format, self.max_queued()))
            .map_err(|e| {
                MediaError::Bind(crate::application::ports::Cause::msg(format!(
                    "outbound pipeline: {e}"
                )))
            })?;
        let refused = |e| {
            MediaError::Bind(crate::application::ports::Cause::msg(format!(
                "inbound pipeline: {e}"
            )))
        };
        match c.vad {
            VadChoice::Energy => {
                let vad = EnergyVad::new(c.vad_timing, c.energy);
                let inbound = InboundPipeline::new(inbound, vad).map_err(refused)?;
                self.launch(request, inbound, outbound)
            }
            VadChoice::Earshot => {
                let vad = EarshotVad::new(c.vad_timing, EarshotConfig::default());
                let inbound = InboundPipeline::new(inbound, vad).map_err(refused)?;
                self.launch(request, inbound, outbound)
            }
        }
    }

    /// Binds the leg's socket and spawns its task.
    fn launch<V: VoiceActivityDetector + Send + 'static>(
        &self,
        request: MediaRequest,
        inbound: InboundPipeline<V>,
        outbound: OutboundPipeline,
    ) -> Result<MediaLeg, MediaError> {
        let c = &self.config;
        let (socket, lease) = self.pool.bind(c.bind).map_err(|e| match e {
            BindError::Exhausted => MediaError::NoPort(c.ports.to_string()),
            BindError::Io(e) => MediaError::Bind(crate::application::ports::Cause::new(e)),
        })?;
        let local = SocketAddr::new(c.advertised(), lease.port());
        let socket = socket
            .set_nonblocking(true)
            .and_then(|()| tokio::net::UdpSocket::from_std(socket))
            .map_err(|e| MediaError::Bind(crate::application::ports::Cause::new(e)))?;
        if request.format == WireFormat::Slin16 {
            tracing::warn!(call = %request.call, "slin16 over UnicastRTP is one-way: Asterisk drops our PT 118");
        }
        let (events_tx, events) = mpsc::channel(c.event_capacity.max(1));
        let (control, commands_rx) = mpsc::channel(c.command_capacity.max(1));
        let (audio, audio_rx) = mpsc::channel(c.audio_capacity.max(1));
        let leg = Leg {
            socket,
            lease,
            call: request.call.clone(),
            inbound,
            outbound,
            emit: Emitter {
                events: events_tx,
                metrics: self.metrics.clone(),
                call: request.call.clone(),
            },
            commands: commands_rx,
            audio: audio_rx,
            play_lead: self.play_lead(),
            metrics: self.metrics.clone(),
            asterisk_hosts: self.asterisk_hosts.clone(),
        };
        tokio::spawn(leg.run());
        tracing::debug!(call = %request.call, %local, "media leg open");
        Ok(MediaLeg {
            local,
            events,
            commands: LegSender { control, audio },
        })
    }
}

impl MediaEndpoint for UdpMediaEndpoint {
    fn open(&self, request: MediaRequest) -> BoxFuture<'_, Result<MediaLeg, MediaError>> {
        Box::pin(async move { self.open_leg(request) })
    }
}
