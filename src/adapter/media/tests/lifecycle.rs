//! Ports: exhaustion, reuse after close, release on drop.

use super::support::*;
use crate::application::ports::media::{
    MediaCommand, MediaEndpoint, MediaError, MediaRequest, Transport,
};
use crate::application::ports::telephony::WireFormat;
use crate::domain::CallId;

fn request() -> MediaRequest {
    MediaRequest {
        call: CallId::parse("pool").unwrap(),
        transport: Transport::Rtp,
        format: WireFormat::Ulaw,
        stt_rate: 16_000,
    }
}

#[tokio::test]
async fn exhaustion_is_no_port_and_closed_legs_give_their_ports_back() {
    let ep = endpoint(4);
    let mut legs = Vec::new();
    for _ in 0..4 {
        legs.push(ep.open(request()).await.unwrap());
    }
    let mut ports: Vec<u16> = legs.iter().map(|l| l.local.port()).collect();
    ports.sort_unstable();
    ports.dedup();
    assert_eq!(ports.len(), 4, "four distinct ports");
    assert!(matches!(
        ep.open(request()).await,
        Err(MediaError::NoPort(_))
    ));
    for round in 0..3 {
        for leg in legs.drain(..2) {
            leg.commands
                .control
                .send(MediaCommand::Close)
                .await
                .unwrap();
        }
        until("two ports back", || ep.free_ports() == 2).await;
        for _ in 0..2 {
            legs.push(ep.open(request()).await.unwrap());
        }
        assert_eq!(ep.free_ports(), 0, "round {round}");
        assert!(matches!(
            ep.open(request()).await,
            Err(MediaError::NoPort(_))
        ));
    }
    let mut ports: Vec<u16> = legs.iter().map(|l| l.local.port()).collect();
    ports.sort_unstable();
    ports.dedup();
    assert_eq!(ports.len(), 4, "still four distinct ports after reuse");
}

#[tokio::test]
async fn dropping_the_leg_frees_its_port() {
    let ep = endpoint(1);
    let leg = ep.open(request()).await.unwrap();
    assert_eq!(ep.free_ports(), 0);
    drop(leg);
    until("the port back", || ep.free_ports() == 1).await;
    assert_eq!(ep.metrics().legs_open.get(), 0);
    // Only the events receiver dropped: the leg ends too.
    let leg = ep.open(request()).await.unwrap();
    let commands = leg.commands;
    drop(leg.events);
    until("the port back again", || ep.free_ports() == 1).await;
    assert!(commands.control.is_closed() && commands.audio.is_closed());
}

#[tokio::test]
async fn an_stt_rate_the_pipeline_refuses_takes_no_port() {
    let ep = endpoint(1);
    let bad = MediaRequest {
        stt_rate: 11_025,
        ..request()
    };
    assert!(matches!(ep.open(bad).await, Err(MediaError::Bind(_))));
    assert_eq!(ep.free_ports(), 1);
}
