//! UnicastRTP: one UDP socket per leg, pinned to Asterisk's address (or
//! latched onto its host's first packet within a second).

use super::emit::{Emitter, Flow};
use super::metrics::MediaMetrics;
use super::peer::{PeerFilter, Verdict};
use super::pool::PortLease;
use super::wire::Wire;
use crate::application::ports::media::MediaEvent;
use ::media::pipeline::InboundPipeline;
use ::media::rtp::RtpPacket;
use ::media::vad::VoiceActivityDetector;
use std::{io, net::SocketAddr, time::Instant};
use tokio::net::UdpSocket;

/// Largest datagram taken whole; RTP from Asterisk is at most 12 + 640 bytes.
const RX_BUFFER: usize = 2048;

/// A leg's RTP socket.
pub(crate) struct UdpWire {
    /// Declared before `lease`: fields drop in order, so the socket is closed
    /// before its port goes back to the pool and no new leg can race it.
    socket: UdpSocket,
    lease: PortLease,
    peer: PeerFilter,
    rx: Box<[u8]>,
}

impl std::fmt::Debug for UdpWire {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "rtp port {}", self.lease.port())
    }
}

impl UdpWire {
    /// A wire that takes nothing until told its peer (`SetPeer`, or `Latch`
    /// onto one of `asterisk_hosts`).
    pub(crate) fn new(
        socket: UdpSocket,
        lease: PortLease,
        asterisk_hosts: std::sync::Arc<[std::net::IpAddr]>,
    ) -> Self {
        Self {
            socket,
            lease,
            peer: PeerFilter::new(asterisk_hosts),
            rx: vec![0; RX_BUFFER].into_boxed_slice(),
        }
    }
}

impl Wire for UdpWire {
    type Input = io::Result<(usize, SocketAddr)>;

    async fn recv(&mut self) -> Self::Input {
        // `recv_from` is cancel-safe: a datagram is either taken whole or left queued.
        self.socket.recv_from(&mut self.rx).await
    }

    fn handle<V: VoiceActivityDetector>(
        &mut self,
        input: Self::Input,
        now: Instant,
        inbound: &mut InboundPipeline<V>,
        emit: &mut Emitter,
        metrics: &MediaMetrics,
    ) -> Flow {
        let (n, from) = match input {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(call = %emit.call, error = %e, "media socket receive error");
                return Flow::Continue;
            }
        };
        let datagram = &self.rx[..n];
        // Only real RTP may set the latch: a stray probe must not capture the leg.
        if self.peer.destination().is_none() && RtpPacket::parse(datagram).is_err() {
            metrics.dropped_malformed.inc();
            return Flow::Continue;
        }
        match self.peer.check(from, now) {
            Verdict::Foreign => {
                metrics.dropped_foreign.inc();
                return Flow::Continue;
            }
            Verdict::FirstFromPeer => {
                if emit.control(MediaEvent::Latched { peer: from }) == Flow::Stop {
                    return Flow::Stop;
                }
            }
            Verdict::Accept => {}
        }
        metrics.packets_in.inc();
        if inbound.handle_packet(now, datagram).is_err() {
            metrics.dropped_malformed.inc();
        }
        Flow::Continue
    }

    async fn send(&mut self, buf: &mut [u8], n: usize) -> io::Result<bool> {
        let Some(dest) = self.peer.destination() else {
            return Ok(false);
        };
        self.socket.send_to(&buf[..n], dest).await.map(|_| true)
    }

    fn set_peer(&mut self, addr: SocketAddr) {
        self.peer.set(addr);
    }

    fn latch(&mut self, now: Instant) {
        self.peer.latch(now);
    }
}
