//! [`UdpMediaEndpoint`]: the [`MediaEndpoint`] port over per-call UDP
//! sockets (UnicastRTP) and, when a listener is given, AudioSocket
//! connections. Both run the same leg task; only its [`Wire`] differs.

use super::audiosocket::{AudioSocketListener, AudioSocketWire};
use super::config::{UdpMediaConfig, VadChoice};
use super::emit::Emitter;
use super::leg::Leg;
use super::metrics::MediaMetrics;
use super::pace::{Direct, Outbound, Pacing};
use super::pool::{BindError, PortPool};
use super::setup;
use super::udp::UdpWire;
use super::websocket::WebSocketWire;
use super::wire::Wire;
use crate::application::ports::{
    media::{LegSender, MediaEndpoint, MediaError, MediaLeg, MediaRequest, Transport},
    orchestrator::BoxFuture,
    telephony::{AudioTransport, WireFormat},
};
use ::media::pacer::FRAME_DURATION;
use ::media::pipeline::{InboundPipeline, OutboundPipeline};
use ::media::vad::{EarshotConfig, EarshotVad, EnergyVad, VoiceActivityDetector};
use std::{net::SocketAddr, sync::Arc, time::Duration};
use tokio::sync::mpsc;

/// Opens media legs on UDP sockets from a port range (and on AudioSocket
/// connections to its listener, when it has one), one task per leg.
#[derive(Debug, Clone)]
pub struct UdpMediaEndpoint {
    config: Arc<UdpMediaConfig>,
    pool: Arc<PortPool>,
    metrics: MediaMetrics,
    /// `config.asterisk_hosts`, shared by every leg without a copy each.
    asterisk_hosts: Arc<[std::net::IpAddr]>,
    audiosocket: Option<AudioSocketListener>,
    /// The thread that sends the UnicastRTP legs' packets (see `pace`);
    /// `None` if it could not start, and the legs send themselves.
    pacing: Option<Pacing>,
}

impl UdpMediaEndpoint {
    /// An endpoint with its own, unregistered counters.
    pub fn new(config: UdpMediaConfig) -> Self {
        let pacing = Pacing::start(config.pacing_priority)
            .inspect_err(|e| tracing::warn!(error = %e, "media pacing thread not started: each RTP leg sends from its own task"))
            .ok();
        Self {
            pool: PortPool::new(config.ports, config.even_ports_only),
            asterisk_hosts: Arc::from(config.asterisk_hosts.as_slice()),
            config: Arc::new(config),
            metrics: MediaMetrics::default(),
            audiosocket: None,
            pacing,
        }
    }

    /// Serves AudioSocket legs on `listener` as well.
    pub fn with_audiosocket(mut self, listener: AudioSocketListener) -> Self {
        self.audiosocket = Some(listener);
        self
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
        if !request.transport.carries(request.format) {
            return Err(MediaError::Unsupported(format!(
                "{} cannot carry {:?} both ways",
                request.transport.as_str(),
                request.format
            )));
        }
        let inbound = setup::inbound(
            request.transport,
            request.format,
            request.stt_rate,
            c.jitter_delay,
        );
        let outbound = OutboundPipeline::new(setup::outbound(
            request.transport,
            request.format,
            self.max_queued(),
        ))
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
                self.attach(request, inbound, outbound)
            }
            VadChoice::Earshot => {
                let vad = EarshotVad::new(c.vad_timing, EarshotConfig::default());
                let inbound = InboundPipeline::new(inbound, vad).map_err(refused)?;
                self.attach(request, inbound, outbound)
            }
        }
    }

    /// Makes the leg's wire for its transport and starts the leg on it.
    fn attach<V: VoiceActivityDetector + Send + 'static>(
        &self,
        request: MediaRequest,
        inbound: InboundPipeline<V>,
        outbound: OutboundPipeline,
    ) -> Result<MediaLeg, MediaError> {
        match request.transport {
            Transport::Rtp => {
                let (wire, local) = self.udp_wire(&request)?;
                let attach = AudioTransport::Rtp {
                    external_host: local,
                };
                let direct =
                    match self.pacing {
                        Some(_) => Some(wire.direct().map_err(|e| {
                            MediaError::Bind(crate::application::ports::Cause::new(e))
                        })?),
                        None => None,
                    };
                let outbound = (outbound, direct);
                Ok(self.launch(request, inbound, outbound, wire, local, attach))
            }
            Transport::Audiosocket => {
                let listener = self.audiosocket.as_ref().ok_or_else(|| {
                    MediaError::Unsupported("no AudioSocket listener on this instance".into())
                })?;
                let (registration, matched) = listener.register();
                let bound = listener.local_addr();
                let local =
                    SocketAddr::new(self.config.advertise.unwrap_or(bound.ip()), bound.port());
                let attach = AudioTransport::AudioSocket {
                    external_host: local,
                    uuid: registration.id().to_string(),
                };
                let wire = AudioSocketWire::new(registration, matched, request.format.rate());
                Ok(self.launch(request, inbound, (outbound, None), wire, local, attach))
            }
            Transport::Websocket => {
                let wire = WebSocketWire::new(wire_name(request.format));
                let local = SocketAddr::new(self.config.advertised(), 0);
                Ok(self.launch(
                    request,
                    inbound,
                    (outbound, None),
                    wire,
                    local,
                    AudioTransport::WebSocket,
                ))
            }
        }
    }

    /// Leases a port and binds the leg's RTP socket.
    fn udp_wire(&self, request: &MediaRequest) -> Result<(UdpWire, SocketAddr), MediaError> {
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
        Ok((
            UdpWire::new(socket, lease, self.asterisk_hosts.clone())
                .map_err(|e| MediaError::Bind(crate::application::ports::Cause::new(e)))?,
            local,
        ))
    }

    /// Spawns the leg's task on `wire`.
    fn launch<V: VoiceActivityDetector + Send + 'static, W: Wire>(
        &self,
        request: MediaRequest,
        inbound: InboundPipeline<V>,
        (outbound, direct): (OutboundPipeline, Option<Direct>),
        wire: W,
        local: SocketAddr,
        attach: AudioTransport,
    ) -> MediaLeg {
        let c = &self.config;
        let (events_tx, events) = mpsc::channel(c.event_capacity.max(1));
        let (control, commands_rx) = mpsc::channel(c.command_capacity.max(1));
        let (audio, audio_rx) = mpsc::channel(c.audio_capacity.max(1));
        let leg = Leg {
            wire,
            call: request.call.clone(),
            inbound,
            pacing: direct.is_some().then(|| self.pacing.clone()).flatten(),
            out: Outbound::new(outbound, direct, self.metrics.clone()),
            emit: Emitter::new(
                events_tx,
                self.metrics.clone(),
                request.call.clone(),
                request.format.rate() >= 16_000 && request.stt_rate >= 16_000,
            ),
            commands: commands_rx,
            audio: audio_rx,
            play_lead: self.play_lead(),
            metrics: self.metrics.clone(),
        };
        tokio::spawn(leg.run());
        tracing::debug!(call = %request.call, %local, ?attach, "media leg open");
        MediaLeg {
            local,
            attach,
            events,
            commands: LegSender { control, audio },
        }
    }
}

impl MediaEndpoint for UdpMediaEndpoint {
    fn open(&self, request: MediaRequest) -> BoxFuture<'_, Result<MediaLeg, MediaError>> {
        Box::pin(async move { self.open_leg(request) })
    }
}

/// A format as Asterisk spells it (`MEDIA_START format:`).
fn wire_name(format: WireFormat) -> &'static str {
    match format {
        WireFormat::Ulaw => "ulaw",
        WireFormat::Alaw => "alaw",
        WireFormat::Slin => "slin",
        WireFormat::Slin16 => "slin16",
    }
}
