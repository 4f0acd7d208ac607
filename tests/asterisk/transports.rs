//! The inbound call scenarios of [`crate::calls`] over AudioSocket and the
//! media WebSocket (both slin16) instead of UnicastRTP: the gateway asks
//! Asterisk for that externalMedia channel, and every scenario must hold the
//! same.

use crate::calls;
use crate::rig::Media;

#[test]
fn audiosocket_an_inbound_call_hears_the_greeting_and_ends_cleanly() {
    calls::greeting_heard(Media::AudioSocket);
}

#[test]
fn audiosocket_a_caller_turn_gets_an_answer() {
    calls::turn_answered(Media::AudioSocket);
}

#[test]
fn audiosocket_barge_in_stops_the_agent_within_150_ms() {
    calls::barge_in_within_150_ms(Media::AudioSocket);
}

#[test]
fn audiosocket_dtmf_digits_reach_the_call_once_each() {
    calls::dtmf_reaches_the_call(Media::AudioSocket);
}

#[test]
fn audiosocket_a_caller_hanging_up_mid_sentence_ends_the_call_cleanly() {
    calls::caller_hangs_up_mid_sentence(Media::AudioSocket);
}

#[test]
fn audiosocket_twenty_calls_at_once_all_set_up() {
    calls::twenty_at_once(Media::AudioSocket);
}

#[test]
fn websocket_an_inbound_call_hears_the_greeting_and_ends_cleanly() {
    calls::greeting_heard(Media::WebSocket);
}

#[test]
fn websocket_a_caller_turn_gets_an_answer() {
    calls::turn_answered(Media::WebSocket);
}

#[test]
fn websocket_barge_in_stops_the_agent_within_150_ms() {
    calls::barge_in_within_150_ms(Media::WebSocket);
}

#[test]
fn websocket_dtmf_digits_reach_the_call_once_each() {
    calls::dtmf_reaches_the_call(Media::WebSocket);
}

#[test]
fn websocket_a_caller_hanging_up_mid_sentence_ends_the_call_cleanly() {
    calls::caller_hangs_up_mid_sentence(Media::WebSocket);
}

#[test]
fn websocket_twenty_calls_at_once_all_set_up() {
    calls::twenty_at_once(Media::WebSocket);
}

/// The instance stays on RTP; one route takes AudioSocket (slin16 by
/// default for it): that route's calls get an AudioSocket channel.
#[test]
fn a_route_may_choose_audiosocket_while_the_instance_uses_rtp() {
    use crate::calls::{DID, T};
    use crate::gateway::{GatewayConfig, ROUTES};
    use crate::rig::{Rig, Setup};
    use vg_testkit::Caller;
    let routes = format!(
        "[[routes]]\ndid = \"{DID}\"\ntenant = \"acme\"\nagent = \"builtin\"\n\
         greeting = \"Hi.\"\ntransport = \"audiosocket\"\n{ROUTES}"
    );
    let rig = Rig::start_with(Setup {
        gateway: GatewayConfig {
            toml: routes,
            ..GatewayConfig::default()
        },
        ..Setup::default()
    });
    let call = rig.ast.call(Caller::listen(DID)).unwrap();
    let id = rig.gw.nth_call(0, T);
    rig.assert_media_channel(Media::AudioSocket);
    rig.gw.until_type("tts.generated", Some(&id), T);
    call.hangup().unwrap();
    rig.gw.until_type("call.ended", Some(&id), T);
    // Any other DID stays on the instance's RTP.
    let other = rig.ast.call(Caller::listen("+15550000000")).unwrap();
    let id = rig.gw.nth_call(1, T);
    rig.assert_media_channel(Media::Rtp);
    rig.gw.until_type("tts.generated", Some(&id), T);
    other.hangup().unwrap();
    rig.gw.until_type("call.ended", Some(&id), T);
    rig.finish();
}

/// chan_websocket refuses the upgrade for a connection id it does not know
/// (read in `chan_websocket.c`: 404), and the gateway takes a 4xx as final:
/// the leg ends at once rather than retrying for 5 s, and its session then
/// ends the call instead of leaving the caller on dead air. The real
/// Asterisk answers so, not only the local stand-ins of the unit tests.
#[test]
#[allow(clippy::disallowed_methods)] // times the leg's end against the 5 s retry window
fn a_media_websocket_with_an_unknown_connection_id_ends_its_leg_at_once() {
    use crate::rig::Rig;
    use std::time::{Duration, Instant};
    use voice_gateway::adapter::config::PortRange;
    use voice_gateway::adapter::media::{UdpMediaConfig, UdpMediaEndpoint};
    use voice_gateway::application::ports::media::{
        MediaCommand, MediaEndpoint, MediaRequest, Transport,
    };
    use voice_gateway::application::ports::telephony::WireFormat;
    use voice_gateway::domain::CallId;

    let rig = Rig::start();
    let url = format!(
        "ws://127.0.0.1:{}/media/no-such-connection",
        rig.ast.http_port()
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let took = runtime.block_on(async {
        let port = std::net::UdpSocket::bind("127.0.0.1:0")
            .and_then(|s| s.local_addr())
            .unwrap()
            .port();
        let endpoint = UdpMediaEndpoint::new(UdpMediaConfig::new(
            [127, 0, 0, 1].into(),
            PortRange {
                start: port,
                end: port,
            },
        ));
        let mut leg = endpoint
            .open(MediaRequest {
                call: CallId::parse("unknown-ws-id").unwrap(),
                transport: Transport::Websocket,
                format: WireFormat::Slin16,
                stt_rate: 16_000,
            })
            .await
            .unwrap();
        let asked = Instant::now();
        leg.commands
            .control
            .send(MediaCommand::Connect(url))
            .await
            .unwrap();
        let ended = tokio::time::timeout(Duration::from_secs(10), async {
            while leg.events.recv().await.is_some() {}
        })
        .await;
        assert!(ended.is_ok(), "the leg never ended");
        asked.elapsed()
    });
    assert!(
        took < Duration::from_secs(2),
        "the leg ended after {took:?}: a refusal was tried again until the 5 s timeout"
    );
    rig.finish();
}
