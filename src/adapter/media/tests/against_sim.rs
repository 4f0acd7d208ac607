//! A leg against the Asterisk simulator, over each transport: externalMedia
//! toward it over ARI, the caller's speech reaches the VAD, played audio
//! reaches the caller.

use super::support::*;
use crate::adapter::ari::{AriClient, AriClientConfig};
use crate::adapter::media::{AudioSocketListener, MediaMetrics, UdpMediaConfig, UdpMediaEndpoint};
use crate::application::ports::media::{
    MediaCommand, MediaEndpoint, MediaEvent, MediaRequest, Transport,
};
use crate::application::ports::telephony::{AudioTransport, Telephony, WireFormat};
use crate::domain::CallId;
use ari::{BridgeId, ChannelId};
use futures_util::StreamExt;
use std::time::Duration;
use vg_asterisk_sim::{SimConfig, Simulator};

const APP: &str = "media-endpoint-test";

/// 1 s of a 700 Hz tone at 8 kHz, loud enough for any VAD.
fn caller_speech() -> Vec<i16> {
    (0..8_000)
        .map(|i| {
            (9_000.0 * (2.0 * std::f64::consts::PI * 700.0 * f64::from(i) / 8_000.0).sin()) as i16
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn speech_from_the_simulated_caller_and_audio_back_to_it() {
    against_sim(Transport::Rtp, WireFormat::Ulaw).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_over_audiosocket_slin16() {
    against_sim(Transport::Audiosocket, WireFormat::Slin16).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_over_the_media_websocket_slin16() {
    against_sim(Transport::Websocket, WireFormat::Slin16).await;
}

async fn against_sim(transport: Transport, format: WireFormat) {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let (user, pass) = sim.credentials();
    // The Stasis app exists only while an events socket is open for it.
    let url = format!("{}?app={APP}&api_key={user}:{pass}", sim.ws_url());
    let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let events = tokio::spawn(ws.for_each(|_| async {}));
    assert!(sim.wait_for(PATIENCE, |s| s.app_connected(APP)).await);

    let listener = AudioSocketListener::bind((LOCAL, 0).into(), MediaMetrics::default()).unwrap();
    let ep =
        UdpMediaEndpoint::new(UdpMediaConfig::new(LOCAL, free_range(2))).with_audiosocket(listener);
    let mut leg = ep
        .open(MediaRequest {
            call: CallId::parse("sim-call").unwrap(),
            transport,
            format,
            stt_rate: 16_000,
        })
        .await
        .unwrap();
    let ari = AriClient::new(AriClientConfig {
        base_url: format!("{}/ari", sim.base_url()),
        username: user,
        password: pass,
        app: APP.into(),
        request_timeout: Duration::from_secs(5),
    })
    .unwrap();
    let call = sim.place_inbound_call_to(APP, "+15551234567", "+15557654321", false);
    let caller = ChannelId::new(sim.channel_of(call).expect("the call is in Stasis"));
    let bridge = BridgeId::new("media-endpoint-bridge");
    Telephony::answer(&ari, &caller).await.unwrap();
    Telephony::create_bridge(&ari, &bridge).await.unwrap();
    let media =
        Telephony::external_media(&ari, &ChannelId::new("media-leg-1"), &leg.attach, format)
            .await
            .unwrap();
    Telephony::add_to_bridge(&ari, &bridge, &caller)
        .await
        .unwrap();
    // Asterisk puts the channel into Stasis after answering the request.
    assert!(sim.wait_for(PATIENCE, |s| s.in_stasis("media-leg-1")).await);
    Telephony::add_to_bridge(&ari, &bridge, &media.channel)
        .await
        .unwrap();
    if let Some(command) = media.leg_command() {
        leg.commands.control.send(command).await.unwrap();
    }

    let (mut latched, mut audio) = (None, 0);
    if transport != Transport::Rtp {
        // The connection first: what Asterisk plays before the media
        // WebSocket is open is lost (RTP latches on the first packet instead).
        while latched.is_none() {
            if let MediaEvent::Latched { peer } = next_event(&mut leg).await {
                latched = Some(peer);
            }
        }
    }
    assert!(sim.caller_say(call, &caller_speech()));
    loop {
        match next_event(&mut leg).await {
            MediaEvent::Latched { peer } => latched = Some(peer),
            MediaEvent::Audio(_) => {
                audio += 1;
                assert!(audio < 250, "no speech start in 5 s of caller audio");
            }
            MediaEvent::SpeechStarted { .. } => break,
            other => panic!("unexpected before speech: {other:?}"),
        }
    }
    assert!(latched.is_some(), "the leg reported its peer");
    if transport == Transport::Rtp {
        let asterisk = media.asterisk_rtp.expect("UNICASTRTP_LOCAL_* in the reply");
        assert_eq!(latched, Some(asterisk), "latched onto UNICASTRTP_LOCAL_*");
    }
    println!("speech started after {audio} audio frames");

    let pcm: Vec<i16> = (0..24_000)
        .map(|i| {
            (8_000.0 * (2.0 * std::f64::consts::PI * 440.0 * f64::from(i) / 24_000.0).sin()) as i16
        })
        .collect();
    leg.commands
        .audio
        .send(pcm_chunk(0, pcm, 24_000))
        .await
        .unwrap();
    leg.commands.audio.send(end_of_speech(0)).await.unwrap();
    loop {
        if let MediaEvent::PlaybackDrained { .. } = next_event(&mut leg).await {
            break;
        }
    }
    let loud = |s: &vg_asterisk_sim::SimHandle| {
        let heard = s.heard_pcm(call);
        heard.len() >= 7_000 && heard.iter().filter(|x| x.unsigned_abs() > 2_000).count() > 2_000
    };
    assert!(
        sim.wait_for(PATIENCE, loud).await,
        "the caller heard the played audio"
    );
    let received = sim.received(call);
    println!(
        "the simulator received {} packets from the leg",
        received.len()
    );
    assert_eq!(ep.metrics().dropped_foreign.get(), 0);

    leg.commands
        .control
        .send(MediaCommand::Close)
        .await
        .unwrap();
    until("the port back", || ep.free_ports() == 2).await;
    assert!(matches!(leg.attach, AudioTransport::Rtp { .. }) == (transport == Transport::Rtp));
    events.abort();
}
