//! Spoofed RTP: someone who can reach a leg's port sends audio before or
//! beside Asterisk. The leg takes packets only from the address Asterisk
//! reported for its externalMedia channel; where none was reported, only
//! from the Asterisk host, only in the first second after the bridge; before
//! the session says whose packets to take, from no one.

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    time::Duration,
};
use tokio::net::UdpSocket;
use voice_gateway::{
    adapter::media::{PortRange, UdpMediaConfig, UdpMediaEndpoint},
    application::ports::{
        media::{MediaCommand, MediaEndpoint, MediaEvent, MediaLeg, MediaRequest},
        telephony::WireFormat,
    },
    domain::CallId,
};

const ASTERISK_HOST: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
const ELSEWHERE: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// An endpoint on loopback whose Asterisk host is 127.0.0.2, with one port
/// free right now (a random one, not to collide with other test binaries).
fn endpoint() -> UdpMediaEndpoint {
    let port = loop {
        let probe = std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let p = probe.local_addr().unwrap().port();
        drop(probe);
        if std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, p)).is_ok() {
            break p;
        }
    };
    let mut config = UdpMediaConfig::new(
        ELSEWHERE,
        PortRange {
            start: port,
            end: port,
        },
    );
    config.asterisk_hosts = vec![ASTERISK_HOST];
    UdpMediaEndpoint::new(config)
}

async fn open(ep: &UdpMediaEndpoint) -> MediaLeg {
    ep.open(MediaRequest {
        call: CallId::parse("attack").unwrap(),
        transport: voice_gateway::application::ports::media::Transport::Rtp,
        format: WireFormat::Ulaw,
        stt_rate: 16_000,
    })
    .await
    .unwrap()
}

/// A sender of µ-law RTP at `ip`.
struct Source {
    socket: UdpSocket,
    seq: u16,
}

impl Source {
    async fn at(ip: IpAddr) -> Self {
        Self {
            socket: UdpSocket::bind((ip, 0)).await.unwrap(),
            seq: 1,
        }
    }

    fn addr(&self) -> SocketAddr {
        self.socket.local_addr().unwrap()
    }

    /// One 20 ms packet, loud (full-scale square wave) so a leg that took it
    /// would hear speech.
    async fn send(&mut self, to: SocketAddr) {
        let mut p = vec![0x80, 0x00];
        p.extend_from_slice(&self.seq.to_be_bytes());
        p.extend_from_slice(&(u32::from(self.seq) * 160).to_be_bytes());
        p.extend_from_slice(&0x5eed_u32.to_be_bytes());
        p.extend((0..160).map(|i| if i % 8 < 4 { 0x80 } else { 0x00 }));
        self.seq += 1;
        self.socket.send_to(&p, to).await.unwrap();
    }
}

async fn until(what: &str, cond: impl Fn() -> bool) {
    tokio::time::timeout(Duration::from_secs(10), async {
        while !cond() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting for {what}"));
}

/// The first event the leg reports (a latch, audio or speech).
async fn first_event(leg: &mut MediaLeg) -> MediaEvent {
    tokio::time::timeout(Duration::from_secs(10), leg.events.recv())
        .await
        .expect("an event")
        .expect("the leg is alive")
}

#[tokio::test]
async fn spoofed_rtp_on_the_legs_port_is_dropped_when_asterisk_reported_its_address() {
    let ep = endpoint();
    let mut leg = open(&ep).await;
    let (mut asterisk, mut spoofer) = (
        Source::at(ASTERISK_HOST).await,
        Source::at(ASTERISK_HOST).await,
    );
    // Same host, another port: only the reported address and port pass.
    leg.commands
        .control
        .send(MediaCommand::SetPeer(asterisk.addr()))
        .await
        .unwrap();
    for _ in 0..20 {
        spoofer.send(leg.local).await;
    }
    until("the spoofed packets to be dropped", || {
        ep.metrics().dropped_foreign.get() == 20
    })
    .await;
    asterisk.send(leg.local).await;
    let MediaEvent::Latched { peer } = first_event(&mut leg).await else {
        panic!("the first event is Asterisk's packet, not the spoofer's audio");
    };
    assert_eq!(peer, asterisk.addr());
    assert_eq!(
        ep.metrics().packets_in.get(),
        1,
        "only Asterisk's packet got in"
    );
}

#[tokio::test]
async fn spoofed_rtp_from_another_host_cannot_win_the_latch() {
    let ep = endpoint();
    let mut leg = open(&ep).await;
    let (mut asterisk, mut spoofer) =
        (Source::at(ASTERISK_HOST).await, Source::at(ELSEWHERE).await);
    // Asterisk reported no address: the first packet within the window wins,
    // but only from the Asterisk host.
    leg.commands
        .control
        .send(MediaCommand::Latch)
        .await
        .unwrap();
    for _ in 0..20 {
        spoofer.send(leg.local).await;
    }
    until("the spoofed packets to be dropped", || {
        ep.metrics().dropped_foreign.get() == 20
    })
    .await;
    asterisk.send(leg.local).await;
    let MediaEvent::Latched { peer } = first_event(&mut leg).await else {
        panic!("the leg latched onto someone else first");
    };
    assert_eq!(peer, asterisk.addr());
    spoofer.send(leg.local).await;
    until("the spoofer dropped after the latch", || {
        ep.metrics().dropped_foreign.get() == 21
    })
    .await;
}

#[tokio::test]
async fn spoofed_rtp_before_the_session_names_its_peer_is_dropped() {
    let ep = endpoint();
    let mut leg = open(&ep).await;
    // Even from the Asterisk host: until SetPeer or Latch, no one is taken.
    let mut spoofer = Source::at(ASTERISK_HOST).await;
    for _ in 0..5 {
        spoofer.send(leg.local).await;
    }
    until("the early packets to be dropped", || {
        ep.metrics().dropped_foreign.get() == 5
    })
    .await;
    let mut asterisk = Source::at(ASTERISK_HOST).await;
    leg.commands
        .control
        .send(MediaCommand::SetPeer(asterisk.addr()))
        .await
        .unwrap();
    asterisk.send(leg.local).await;
    let MediaEvent::Latched { peer } = first_event(&mut leg).await else {
        panic!("an early packet was taken");
    };
    assert_eq!(peer, asterisk.addr());
}
