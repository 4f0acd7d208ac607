//! The transport under a media leg: the one part of a leg that differs
//! between UnicastRTP, AudioSocket and the media WebSocket. The leg's loop,
//! pipelines, pacer, flush and events are shared (see [`super::leg`]).

use super::emit::{Emitter, Flow};
use super::metrics::MediaMetrics;
use ::media::pipeline::InboundPipeline;
use ::media::vad::VoiceActivityDetector;
use std::{fmt::Debug, future::Future, io, net::SocketAddr, time::Instant};

/// Feeds raw PCM of any length (an AudioSocket or WebSocket message) into
/// `inbound` frame by frame, draining its output through `emit` after each.
pub(crate) fn take_pcm<V: VoiceActivityDetector>(
    pcm: &[u8],
    now: Instant,
    inbound: &mut InboundPipeline<V>,
    emit: &mut Emitter,
) -> Flow {
    let mut off = 0;
    while off < pcm.len() {
        match inbound.push_frame_bytes(now, &pcm[off..]) {
            Ok(taken) => off += taken,
            // Built with a framed codec: never reached.
            Err(_) => break,
        }
        if emit.inbound(inbound, now) == Flow::Stop {
            return Flow::Stop;
        }
    }
    Flow::Continue
}

/// One transport's socket(s) and framing, owned by the leg's task.
pub(crate) trait Wire: Debug + Send + 'static {
    /// What [`recv`](Self::recv) yields, handed back to [`handle`](Self::handle).
    type Input: Send;

    /// Waits for input. Must be cancel-safe: the leg's `select!` drops it
    /// whenever another branch wins, and nothing read may be lost then.
    fn recv(&mut self) -> impl Future<Output = Self::Input> + Send;

    /// Takes what `recv` got at `now`: audio into `inbound` (draining its
    /// output through `emit` as needed), digits and other events to `emit`.
    fn handle<V: VoiceActivityDetector>(
        &mut self,
        input: Self::Input,
        now: Instant,
        inbound: &mut InboundPipeline<V>,
        emit: &mut Emitter,
        metrics: &MediaMetrics,
    ) -> Flow;

    /// Sends one frame the outbound pipeline serialized as RTP into
    /// `buf[..n]` (header first; a non-RTP wire may rewrite the header bytes
    /// in place to frame the payload its way). `Ok(false)`: nowhere to send
    /// yet (no peer, not connected), the frame is dropped.
    fn send(&mut self, buf: &mut [u8], n: usize) -> impl Future<Output = io::Result<bool>> + Send;

    /// Whether agent audio may start into the pacer. A connection-based wire
    /// is not ready until Asterisk connected: the audio waits upstream
    /// instead of being paced out into nothing. RTP is always ready (packets
    /// due before the peer is known are dropped and counted).
    fn ready(&self) -> bool {
        true
    }

    /// A barge-in just flushed our pacer: flush what the far end still
    /// holds of ours too, if it queues (the media WebSocket does).
    fn flushed(&mut self) -> impl Future<Output = io::Result<()>> + Send {
        std::future::ready(Ok(()))
    }

    /// Where to connect (`MediaCommand::Connect`), for a wire that opens the
    /// connection itself; others ignore it.
    fn connect(&mut self, _url: String) {}

    /// Asterisk's RTP address (`SetPeer`); wires that are told their peer
    /// by the connection itself ignore it.
    fn set_peer(&mut self, addr: SocketAddr);

    /// Where the pacing thread sends this wire's packets, if it sends them
    /// (UnicastRTP: the peer once known).
    fn destination(&self) -> Option<SocketAddr> {
        None
    }

    /// Asterisk reported no address (`Latch`): take the first packet from
    /// its host within a second of `now`. Connection-based wires ignore it.
    fn latch(&mut self, _now: Instant) {}
}
