//! Caller audio in: latching, decoding to the STT rate, VAD, foreign packets.

use super::support::*;
use crate::application::ports::media::{MediaCommand, MediaEvent, MediaLeg};

/// Asterisk reported no address: the leg takes the first packet from 127.0.0.1.
async fn latch(leg: &MediaLeg) {
    leg.commands
        .control
        .send(MediaCommand::Latch)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_tone_then_silence_gives_16k_audio_and_speech_start_then_end() {
    let ep = endpoint(2);
    let mut leg = open(&ep).await;
    latch(&leg).await;
    let mut peer = Peer::new().await;
    let to = leg.local;
    let sender = tokio::spawn(async move {
        send_paced(&mut peer, to, 50, tone_frame).await;
        send_paced(&mut peer, to, 25, |_| SILENCE).await;
        peer
    });
    let (mut frames, mut started, mut paused, mut latched) = (0, false, false, None);
    loop {
        match next_event(&mut leg).await {
            MediaEvent::Latched { peer } => latched = Some(peer),
            MediaEvent::Audio(f) => {
                assert_eq!((f.rate, f.pcm.len() % 320), (16_000, 0), "{f:?}");
                frames += f.pcm.len() / 320;
            }
            MediaEvent::SpeechStarted { .. } => {
                assert!(!started, "one start");
                started = true;
            }
            // The pause comes 160 ms into the silence, the end at 300 ms.
            MediaEvent::SpeechPaused { .. } => paused = true,
            MediaEvent::SpeechEnded { .. } => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    let peer = sender.await.unwrap();
    assert!(started, "SpeechStarted came before SpeechEnded");
    assert!(paused, "SpeechPaused came before SpeechEnded");
    assert_eq!(latched, Some(peer.addr()), "latched first onto the sender");
    assert!(
        frames >= 45,
        "most of the tone arrived as audio: {frames} frames"
    );
    assert!(
        ep.metrics().packets_in.get() >= 50,
        "the tone was counted in"
    );
}

#[tokio::test]
async fn packets_from_elsewhere_are_dropped_once_latched() {
    let ep = endpoint(1);
    let mut leg = open(&ep).await;
    latch(&leg).await;
    let (mut asterisk, mut intruder) = (Peer::new().await, Peer::new().await);
    asterisk.send(leg.local, &SILENCE).await;
    let MediaEvent::Latched { peer } = next_event(&mut leg).await else {
        panic!("the first event is the latch");
    };
    assert_eq!(peer, asterisk.addr());
    for i in 0..10 {
        intruder.send(leg.local, &tone_frame(i)).await;
    }
    // Junk from the peer itself: counted, never fatal.
    asterisk
        .socket
        .send_to(b"\x00junk", leg.local)
        .await
        .unwrap();
    until("the intruder's packets to be dropped", || {
        ep.metrics().dropped_foreign.get() == 10 && ep.metrics().dropped_malformed.get() == 1
    })
    .await;
    // The leg is alive and still hears its peer.
    asterisk.send(leg.local, &SILENCE).await;
    until("the peer's packet", || ep.metrics().packets_in.get() == 3).await;
    assert!(leg.commands.control.send(MediaCommand::Close).await.is_ok());
}

#[tokio::test]
async fn a_set_peer_refuses_anyone_else_from_the_first_packet() {
    let ep = endpoint(1);
    let mut leg = open(&ep).await;
    let (mut asterisk, mut intruder) = (Peer::new().await, Peer::new().await);
    leg.commands
        .control
        .send(MediaCommand::SetPeer(asterisk.addr()))
        .await
        .unwrap();
    intruder.send(leg.local, &SILENCE).await;
    until("the intruder's packet to be dropped", || {
        ep.metrics().dropped_foreign.get() == 1
    })
    .await;
    asterisk.send(leg.local, &SILENCE).await;
    let MediaEvent::Latched { peer } = next_event(&mut leg).await else {
        panic!("the latch comes with the peer's first packet");
    };
    assert_eq!(peer, asterisk.addr());
}

/// Datagrams queued while the leg was not running (a stall, a burst from
/// Asterisk) are read in batches: all of them, and the leg goes
/// on waiting for more after a batch that emptied the queue and after one
/// that filled every buffer.
#[tokio::test]
async fn a_burst_queued_while_the_leg_waited_is_read_whole() {
    let ep = endpoint(1);
    let mut leg = open(&ep).await;
    let mut asterisk = Peer::new().await;
    leg.commands
        .control
        .send(MediaCommand::SetPeer(asterisk.addr()))
        .await
        .unwrap();
    // One thread: the leg's task runs only when this one waits, so each
    // burst is queued whole before the leg reads any of it: 11 ends with a
    // short batch, 4 with a full one (an empty read follows), 1 is short.
    let mut sent = 0u32;
    for burst in [11, 4, 1] {
        for _ in 0..burst {
            asterisk.send(leg.local, &tone_frame(sent)).await;
            sent += 1;
        }
        until("the burst read", || {
            ep.metrics().packets_in.get() == sent as u64
        })
        .await;
    }
    let MediaEvent::Latched { peer } = next_event(&mut leg).await else {
        panic!("the latch comes with the peer's first packet");
    };
    assert_eq!(peer, asterisk.addr());
    assert_eq!(ep.metrics().dropped_malformed.get(), 0);
}

/// An empty datagram (nothing to split at a stride) is still one bad
/// packet: counted, and the leg goes on hearing its peer.
#[tokio::test]
async fn an_empty_datagram_is_counted_malformed_and_the_leg_goes_on() {
    let ep = endpoint(1);
    let leg = open(&ep).await;
    let mut asterisk = Peer::new().await;
    leg.commands
        .control
        .send(MediaCommand::SetPeer(asterisk.addr()))
        .await
        .unwrap();
    asterisk.socket.send_to(&[], leg.local).await.unwrap();
    until("the empty datagram to be counted", || {
        ep.metrics().dropped_malformed.get() == 1
    })
    .await;
    asterisk.send(leg.local, &SILENCE).await;
    until("the peer's packet", || ep.metrics().packets_in.get() == 1).await;
}
