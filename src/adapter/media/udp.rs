//! UnicastRTP: one UDP socket per leg, pinned to Asterisk's address (or
//! latched onto its host's first packet within a second).
//!
//! # One receive syscall per wake
//! A leg wakes fifty times a second for one datagram. Read one at a time,
//! each wake costs two `recvfrom`s: the datagram, then the `EAGAIN` that
//! tells the queue is empty and clears the socket's readiness. The leg reads
//! with `recvmmsg` into [`BATCH`] buffers instead: a batch that comes back
//! short says the queue was emptied, so the readiness is cleared then and
//! there (tokio's `try_io` with `WouldBlock`, checked against the readiness
//! seen before the read: a datagram that arrived since keeps it set), and
//! the next wait costs no syscall.

use super::emit::{Emitter, Flow};
use super::metrics::MediaMetrics;
use super::pace::Direct;
use super::peer::{PeerFilter, Verdict};
use super::pool::PortLease;
use super::wire::Wire;
use crate::application::ports::media::MediaEvent;
use ::media::pipeline::InboundPipeline;
use ::media::rtp::RtpPacket;
use ::media::vad::VoiceActivityDetector;
use quinn_udp::{RecvMeta, UdpSocketState};
use std::{io, io::IoSliceMut, net::SocketAddr, time::Instant};
use tokio::{io::Interest, net::UdpSocket};

/// Largest datagram taken whole; RTP from Asterisk is at most 12 + 640 bytes.
const RX_BUFFER: usize = 2048;
/// Datagrams read by one receive: one is the steady case (a short batch),
/// more after a stall. Four cost each leg 6 KiB more than one buffer; two
/// measured 10 % more CPU per call at 1,000 continuous-RTP calls.
const BATCH: usize = 4;

/// A leg's RTP socket.
pub(crate) struct UdpWire {
    /// Declared before `lease`: fields drop in order, so the socket is closed
    /// before its port goes back to the pool and no new leg can race it.
    socket: UdpSocket,
    lease: PortLease,
    peer: PeerFilter,
    /// [`BATCH`] buffers of [`RX_BUFFER`] bytes.
    rx: Box<[u8]>,
    meta: [RecvMeta; BATCH],
    /// Batched receive on `socket` (its options set once, at the start).
    state: UdpSocketState,
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
    ) -> io::Result<Self> {
        let state = UdpSocketState::new((&socket).into())?;
        no_control_messages(&socket);
        Ok(Self {
            socket,
            lease,
            peer: PeerFilter::new(asterisk_hosts),
            rx: vec![0; RX_BUFFER * BATCH].into_boxed_slice(),
            meta: [RecvMeta::default(); BATCH],
            state,
        })
    }

    /// A second descriptor of the socket, for the pacing thread to send on.
    pub(crate) fn direct(&self) -> io::Result<Direct> {
        use std::os::fd::AsFd;
        let fd = self.socket.as_fd().try_clone_to_owned()?;
        Ok(Direct::new(std::net::UdpSocket::from(fd)))
    }

    /// Reads what the socket holds, up to [`BATCH`] buffers; `Ok(0)`: nothing.
    /// A short batch clears the readiness (see the module's doc).
    fn try_read(&mut self) -> io::Result<usize> {
        let Self {
            socket,
            rx,
            meta,
            state,
            ..
        } = self;
        let mut got = 0;
        let read = socket.try_io(Interest::READABLE, || {
            let mut bufs: [IoSliceMut<'_>; BATCH] = {
                let mut chunks = rx.chunks_exact_mut(RX_BUFFER);
                std::array::from_fn(|_| IoSliceMut::new(chunks.next().unwrap_or_default()))
            };
            got = state.recv((&*socket).into(), &mut bufs, meta)?;
            if got < BATCH {
                // Emptied: clear the readiness now rather than by an `EAGAIN`.
                return Err(io::ErrorKind::WouldBlock.into());
            }
            Ok(got)
        });
        match read {
            Ok(n) => Ok(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(got),
            Err(e) => Err(e),
        }
    }

    /// Takes one datagram from `from`.
    fn datagram<V: VoiceActivityDetector>(
        peer: &mut PeerFilter,
        datagram: &[u8],
        from: SocketAddr,
        now: Instant,
        inbound: &mut InboundPipeline<V>,
        emit: &mut Emitter,
        metrics: &MediaMetrics,
    ) -> Flow {
        // Only real RTP may set the latch: a stray probe must not capture the leg.
        if peer.destination().is_none() && RtpPacket::parse(datagram).is_err() {
            metrics.dropped_malformed.inc();
            return Flow::Continue;
        }
        match peer.check(from, now) {
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
}

/// Turns off the per-datagram control messages `UdpSocketState::new` asks
/// for: the TOS byte and the destination address, QUIC's ECN and path
/// checks. RTP reads neither, and the kernel built both for every datagram
/// (about 2 % of the gateway's time at 2,000 continuous-RTP calls). A
/// refusal costs only that time, so it is logged, not fatal.
fn no_control_messages(socket: &UdpSocket) {
    use nix::sys::socket::{setsockopt, sockopt};
    let off = match socket.local_addr() {
        Ok(SocketAddr::V4(_)) => setsockopt(socket, sockopt::IpRecvTos, &false)
            .and_then(|()| setsockopt(socket, sockopt::Ipv4PacketInfo, &false))
            .map_err(io::Error::from),
        Ok(SocketAddr::V6(_)) => setsockopt(socket, sockopt::Ipv6RecvTClass, &false)
            .and_then(|()| setsockopt(socket, sockopt::Ipv6RecvPacketInfo, &false))
            .map_err(io::Error::from),
        Err(e) => Err(e),
    };
    if let Err(e) = off {
        tracing::debug!(error = %e, "RTP socket keeps its per-datagram control messages");
    }
}

impl Wire for UdpWire {
    /// Buffers filled, each with its `meta`.
    type Input = io::Result<usize>;

    async fn recv(&mut self) -> Self::Input {
        // Cancel-safe: waiting takes nothing, and what a read takes is
        // returned by the same poll.
        loop {
            self.socket.readable().await?;
            match self.try_read() {
                Ok(0) => continue,
                r => return r,
            }
        }
    }

    fn handle<V: VoiceActivityDetector>(
        &mut self,
        input: Self::Input,
        now: Instant,
        inbound: &mut InboundPipeline<V>,
        emit: &mut Emitter,
        metrics: &MediaMetrics,
    ) -> Flow {
        let n = match input {
            Ok(n) => n,
            Err(e) => {
                tracing::debug!(call = %emit.call, error = %e, "media socket receive error");
                return Flow::Continue;
            }
        };
        for (meta, buf) in self.meta[..n].iter().zip(self.rx.chunks_exact(RX_BUFFER)) {
            let filled = &buf[..meta.len.min(RX_BUFFER)];
            // Several datagrams in one buffer when the kernel coalesced
            // them (GRO), `stride` bytes apart; an empty datagram is one too.
            let stride = match meta.stride {
                0 => filled.len(),
                s => s,
            };
            let datagrams = filled.chunks(stride.max(1));
            let empty = filled.is_empty().then_some(filled);
            for datagram in datagrams.chain(empty) {
                let flow = Self::datagram(
                    &mut self.peer,
                    datagram,
                    meta.addr,
                    now,
                    inbound,
                    emit,
                    metrics,
                );
                if flow == Flow::Stop {
                    return Flow::Stop;
                }
            }
        }
        Flow::Continue
    }

    async fn send(&mut self, buf: &mut [u8], n: usize) -> io::Result<bool> {
        let Some(dest) = self.peer.destination() else {
            return Ok(false);
        };
        self.socket.send_to(&buf[..n], dest).await.map(|_| true)
    }

    fn destination(&self) -> Option<SocketAddr> {
        self.peer.destination()
    }

    fn set_peer(&mut self, addr: SocketAddr) {
        self.peer.set(addr);
    }

    fn latch(&mut self, now: Instant) {
        self.peer.latch(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapter::media::pool::PortPool;
    use crate::adapter::media::tests::support::{LOCAL, free_range};
    use nix::sys::socket::{getsockopt, sockopt};
    use std::sync::Arc;

    /// quinn-udp turns on the TOS and destination-address control messages;
    /// an RTP wire turns them off again, so the kernel builds neither for
    /// each datagram. (They were on before: checked by removing the call.)
    #[tokio::test]
    async fn an_rtp_wire_asks_for_no_control_messages() {
        let pool = PortPool::new(free_range(2), true);
        let (socket, lease) = pool.bind(LOCAL).unwrap();
        let probe = socket.try_clone().unwrap();
        socket.set_nonblocking(true).unwrap();
        let socket = UdpSocket::from_std(socket).unwrap();
        let wire = UdpWire::new(socket, lease, Arc::from([LOCAL])).unwrap();
        assert!(
            !getsockopt(&probe, sockopt::IpRecvTos).unwrap(),
            "IP_RECVTOS off"
        );
        assert!(
            !getsockopt(&probe, sockopt::Ipv4PacketInfo).unwrap(),
            "IP_PKTINFO off"
        );
        drop(wire);
    }
}
