//! A test peer playing Asterisk's side of a leg, and helpers to wait on events.

use crate::adapter::media::{PortRange, UdpMediaConfig, UdpMediaEndpoint};
use crate::application::ports::media::{
    AgentAudio, AudioChunk, MediaEndpoint, MediaEvent, MediaLeg, MediaRequest, Transport,
};
use crate::application::ports::telephony::WireFormat;
use crate::domain::CallId;
use ::media::codec::{Codec, Pcmu};
use ::media::rtp::{RtpHeader, RtpPacket};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket as StdUdp};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;
use tokio::net::UdpSocket;

pub(in crate::adapter::media) const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// Failure deadline of every wait: generous, never reached when things work.
pub(super) const PATIENCE: Duration = Duration::from_secs(10);

/// A range of `n` ports free right now, disjoint from other tests' ranges.
pub(in crate::adapter::media) fn free_range(n: u16) -> PortRange {
    static NEXT: AtomicU16 = AtomicU16::new(42_000);
    loop {
        let start = NEXT.fetch_add(n + 1, Ordering::Relaxed);
        assert!(start < 60_000, "ran out of test port ranges");
        let all_free = (start..start + n).all(|p| StdUdp::bind(SocketAddr::new(LOCAL, p)).is_ok());
        if all_free {
            return PortRange {
                start,
                end: start + n - 1,
            };
        }
    }
}

/// An endpoint on 127.0.0.1 with `n` ports, whose Asterisk is on 127.0.0.1.
pub(super) fn endpoint(n: u16) -> UdpMediaEndpoint {
    let mut config = UdpMediaConfig::new(LOCAL, free_range(n));
    config.asterisk_hosts = vec![LOCAL];
    UdpMediaEndpoint::new(config)
}

/// A µ-law leg delivering 16 kHz audio.
pub(super) async fn open(ep: &UdpMediaEndpoint) -> MediaLeg {
    ep.open(MediaRequest {
        call: CallId::parse("test-call").unwrap(),
        transport: Transport::Rtp,
        format: WireFormat::Ulaw,
        stt_rate: 16_000,
    })
    .await
    .unwrap()
}

/// 20 ms of a 1 kHz tone at 8 kHz, µ-law, at about -9 dBFS.
pub(super) fn tone_frame(frame: u32) -> [u8; 160] {
    let pcm: Vec<i16> = (0..160u32)
        .map(|i| {
            let t = f64::from(frame * 160 + i) / 8000.0;
            (10_000.0 * (2.0 * std::f64::consts::PI * 1000.0 * t).sin()) as i16
        })
        .collect();
    let mut out = [0u8; 160];
    Pcmu.encode(&pcm, &mut out).unwrap();
    out
}

/// µ-law digital silence.
pub(super) const SILENCE: [u8; 160] = [0xFF; 160];

/// Asterisk's side: one socket sending and receiving RTP.
pub(super) struct Peer {
    /// Shared so a load test can receive on it while another task sends.
    pub(super) socket: std::sync::Arc<UdpSocket>,
    seq: u16,
    ts: u32,
}

impl Peer {
    pub(super) async fn new() -> Self {
        Self {
            socket: std::sync::Arc::new(UdpSocket::bind((LOCAL, 0)).await.unwrap()),
            seq: 7_000,
            ts: 160,
        }
    }

    pub(super) fn addr(&self) -> SocketAddr {
        self.socket.local_addr().unwrap()
    }

    /// Sends the next 20 ms packet (PT 0) to `to`.
    pub(super) async fn send(&mut self, to: SocketAddr, payload: &[u8]) {
        let header = RtpHeader {
            marker: false,
            payload_type: 0,
            sequence: self.seq,
            timestamp: self.ts,
            ssrc: 0x1234_5678,
        };
        let mut buf = [0u8; 12 + 640];
        let n = header.write_packet(payload, &mut buf).unwrap();
        self.socket.send_to(&buf[..n], to).await.unwrap();
        self.seq = self.seq.wrapping_add(1);
        self.ts = self.ts.wrapping_add(160);
    }

    /// Receives one RTP packet: header, payload length, arrival time.
    pub(super) async fn recv(
        &self,
        within: Duration,
    ) -> Option<(RtpHeader, usize, std::time::Instant)> {
        let mut buf = [0u8; 2048];
        let (n, _) = tokio::time::timeout(within, self.socket.recv_from(&mut buf))
            .await
            .ok()?
            .unwrap();
        let at = std::time::Instant::now();
        let p = RtpPacket::parse(&buf[..n]).unwrap();
        Some((p.header, p.payload.len(), at))
    }
}

/// Sends `frames` packets paced at 20 ms, `payload(i)` for each.
pub(super) async fn send_paced(
    peer: &mut Peer,
    to: SocketAddr,
    frames: u32,
    payload: impl Fn(u32) -> [u8; 160],
) {
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    for i in 0..frames {
        tick.tick().await;
        peer.send(to, &payload(i)).await;
    }
}

/// The next event, or a panic after [`PATIENCE`].
pub(super) async fn next_event(leg: &mut MediaLeg) -> MediaEvent {
    tokio::time::timeout(PATIENCE, leg.events.recv())
        .await
        .expect("no media event in time")
        .expect("the leg ended")
}

/// Waits until `pred` holds for the endpoint, polling the way an operator would.
pub(super) async fn until(what: &str, pred: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !pred() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Agent audio of `generation`.
pub(super) fn pcm_chunk(generation: u64, pcm: Vec<i16>, rate: u32) -> AgentAudio {
    AgentAudio {
        generation,
        chunk: AudioChunk::Pcm { pcm, rate },
    }
}

/// The end of a reply of `generation`.
pub(super) fn end_of_speech(generation: u64) -> AgentAudio {
    AgentAudio {
        generation,
        chunk: AudioChunk::EndOfSpeech,
    }
}
