//! The task of one media leg: owns the socket and both pipelines, and
//! `select!`s over commands, datagrams and the pipelines' next deadline
//! (the run loop of `vg_media::pipeline`, after quinn's `ConnectionDriver`).

use super::emit::{Emitter, Flow};
use super::metrics::{MediaMetrics, Synced};
use super::peer::{PeerFilter, Verdict};
use super::pool::PortLease;
use crate::application::ports::media::{FlushReport, MediaCommand, MediaEvent};
use crate::domain::CallId;
use ::media::pipeline::{InboundPipeline, OutboundPipeline};
use ::media::rtp::RtpPacket;
use ::media::vad::VoiceActivityDetector;
use std::{io, net::SocketAddr, time::Duration, time::Instant};
use tokio::{net::UdpSocket, sync::mpsc};

/// Largest datagram taken whole; RTP from Asterisk is at most 12 + 640 bytes.
const RX_BUFFER: usize = 2048;
/// How often pipeline figures are copied into the shared counters.
const SYNC_EVERY: Duration = Duration::from_secs(1);

/// One leg's state; [`run`](Self::run) consumes it.
pub(crate) struct Leg<V> {
    /// Declared before `lease`: fields drop in order, so the socket is closed
    /// before its port goes back to the pool and no new leg can race it.
    pub(crate) socket: UdpSocket,
    pub(crate) lease: PortLease,
    pub(crate) call: CallId,
    pub(crate) inbound: InboundPipeline<V>,
    pub(crate) outbound: OutboundPipeline,
    pub(crate) emit: Emitter,
    pub(crate) commands: mpsc::Receiver<MediaCommand>,
    pub(crate) metrics: MediaMetrics,
}

enum Wake {
    Command(Option<MediaCommand>),
    Datagram(io::Result<(usize, SocketAddr)>),
    Timer,
    EventsGone,
}

/// What the loop carries besides the pipelines.
struct State {
    peer: PeerFilter,
    rx: Box<[u8]>,
    tx: Box<[u8]>,
    /// `EndOfSpeech` seen and `PlaybackDrained` not yet sent.
    awaiting_drain: bool,
    last_sent: Option<Instant>,
    synced: Synced,
    next_sync: Instant,
}

impl<V: VoiceActivityDetector> Leg<V> {
    /// Runs until `Close`, the command sender is dropped, or the events
    /// receiver is dropped; then the socket closes and the port is released.
    pub(crate) async fn run(mut self) {
        self.metrics.legs_open.inc();
        let mut st = State {
            peer: PeerFilter::default(),
            rx: vec![0; RX_BUFFER].into_boxed_slice(),
            tx: vec![0; RX_BUFFER].into_boxed_slice(),
            awaiting_drain: false,
            last_sent: None,
            synced: Synced::default(),
            next_sync: Instant::now() + SYNC_EVERY,
        };
        let timer = tokio::time::sleep(Duration::ZERO);
        tokio::pin!(timer);
        loop {
            let deadline = [self.inbound.poll_timeout(), self.outbound.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            if let Some(d) = deadline.map(tokio::time::Instant::from_std)
                && timer.deadline() != d
            {
                timer.as_mut().reset(d);
            }
            let wake = tokio::select! {
                // Commands first: a flush must not wait behind a flood of packets.
                biased;
                c = self.commands.recv() => Wake::Command(c),
                () = self.emit.closed() => Wake::EventsGone,
                r = self.socket.recv_from(&mut st.rx) => Wake::Datagram(r),
                () = &mut timer, if deadline.is_some() => Wake::Timer,
            };
            let now = Instant::now();
            let flow = match wake {
                Wake::Command(None | Some(MediaCommand::Close)) | Wake::EventsGone => break,
                Wake::Command(Some(c)) => self.command(&mut st, now, c),
                Wake::Datagram(Ok((n, from))) => self.datagram(&mut st, now, n, from),
                Wake::Datagram(Err(e)) => {
                    tracing::debug!(call = %self.call, error = %e, "media socket receive error");
                    Flow::Continue
                }
                Wake::Timer => Flow::Continue,
            };
            if flow == Flow::Stop || self.drive(&mut st, now).await == Flow::Stop {
                break;
            }
        }
        self.sync(&mut st);
        self.metrics.legs_open.dec();
        tracing::debug!(call = %self.call, port = self.lease.port(), "media leg closed");
    }

    fn command(&mut self, st: &mut State, now: Instant, command: MediaCommand) -> Flow {
        match command {
            MediaCommand::SetPeer(addr) => st.peer.set(addr),
            MediaCommand::Play { pcm, rate } => {
                // A new reply: drained is reported after its own EndOfSpeech.
                st.awaiting_drain = false;
                if let Err(e) = self.outbound.push_pcm(now, &pcm, rate) {
                    tracing::warn!(call = %self.call, error = %e, "agent audio not queued");
                }
            }
            MediaCommand::EndOfSpeech => {
                st.awaiting_drain = true;
                if let Err(e) = self.outbound.end_of_speech(now) {
                    tracing::warn!(call = %self.call, error = %e, "end of agent audio not queued");
                }
            }
            MediaCommand::Flush(reply) => {
                st.awaiting_drain = false;
                let sent = self.outbound.stats().utterance_sent;
                let dropped = self.outbound.flush();
                // The session may have stopped waiting; nothing to undo then.
                let _ = reply.send(FlushReport {
                    dropped,
                    sent,
                    last_packet_at: st.last_sent,
                });
            }
            MediaCommand::Close => return Flow::Stop,
        }
        Flow::Continue
    }

    fn datagram(&mut self, st: &mut State, now: Instant, n: usize, from: SocketAddr) -> Flow {
        let datagram = &st.rx[..n];
        // Only real RTP may set the latch: a stray probe must not capture the leg.
        if st.peer.destination().is_none() && RtpPacket::parse(datagram).is_err() {
            self.metrics.dropped_malformed.inc();
            return Flow::Continue;
        }
        match st.peer.check(from) {
            Verdict::Foreign => {
                self.metrics.dropped_foreign.inc();
                return Flow::Continue;
            }
            Verdict::FirstFromPeer => {
                if self.emit.control(MediaEvent::Latched { peer: from }) == Flow::Stop {
                    return Flow::Stop;
                }
            }
            Verdict::Accept => {}
        }
        self.metrics.packets_in.inc();
        if self.inbound.handle_packet(now, datagram).is_err() {
            self.metrics.dropped_malformed.inc();
        }
        Flow::Continue
    }

    /// Lets both pipelines catch up with `now` and delivers what they yield.
    async fn drive(&mut self, st: &mut State, now: Instant) -> Flow {
        self.inbound.handle_timeout(now);
        if self.emit.inbound(&mut self.inbound) == Flow::Stop {
            return Flow::Stop;
        }
        self.outbound.handle_timeout(now);
        while let Some(n) = self.outbound.poll_transmit_into(&mut st.tx) {
            let Some(dest) = st.peer.destination() else {
                self.metrics.dropped_no_peer.inc();
                continue;
            };
            if let Err(e) = self.socket.send_to(&st.tx[..n], dest).await {
                tracing::debug!(call = %self.call, error = %e, "media send failed");
                continue;
            }
            self.metrics.packets_out.inc();
            st.last_sent = Some(now);
        }
        if st.awaiting_drain && self.outbound.poll_timeout().is_none() {
            st.awaiting_drain = false;
            let at = st.last_sent.unwrap_or(now);
            if self.emit.control(MediaEvent::PlaybackDrained { at }) == Flow::Stop {
                return Flow::Stop;
            }
        }
        if now >= st.next_sync {
            st.next_sync = now + SYNC_EVERY;
            self.sync(st);
        }
        Flow::Continue
    }

    fn sync(&self, st: &mut State) {
        let (i, o) = (self.inbound.stats(), self.outbound.stats());
        st.synced
            .sync(&self.metrics, i.jitter.late, o.late_sends, o.underruns);
    }
}
