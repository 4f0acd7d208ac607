//! The client against the local stand-in, replaying recorded Asterisk responses:
//! request paths, queries and bodies are checked as the server saw them.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;

use ari::{BridgeId, ChannelId, PlaybackId, RecordingName};
use serde_json::json;

use super::mock::{MockAri, Reply, fixture_reply};
use crate::adapter::ari::spec::ALL_REQUESTS;
use crate::adapter::ari::*;

const F01: &str = "01-inbound-externalmedia-rtp.json";
const F03: &str = "03-outbound-originate-subscribeall.json";
const F05: &str = "05-rest-errors.json";
const F06: &str = "06-playback.json";
const F12: &str = "12-audiosocket-websocket-transcripts.json";

#[tokio::test]
async fn inbound_call_setup_as_in_fixture_01() {
    let ari = MockAri::start().await;
    ari.reply(fixture_reply(F01, "POST", "/answer", 204))
        .reply(fixture_reply(F01, "POST", "/ari/bridges", 200))
        .reply(fixture_reply(F01, "POST", "/externalMedia", 200))
        .reply(fixture_reply(F01, "POST", "/addChannel", 204))
        .reply(fixture_reply(F01, "GET", "/variable", 200))
        .reply(fixture_reply(F01, "DELETE", "/ari/channels/", 204))
        .reply(fixture_reply(F01, "DELETE", "/ari/bridges/", 204));
    let client = ari.client();
    let caller = ChannelId::new("1795241008.163");

    client.answer(&caller).await.unwrap();
    let bridge = client
        .create_bridge(None, Some("fx01-bridge"))
        .await
        .unwrap();
    assert_eq!(bridge.bridge_type, ari::BridgeType::Mixing);
    let media = client
        .external_media(&ExternalMedia {
            transport: ExternalMediaTransport::UnicastRtp {
                external_host: "127.0.0.1:40010".parse().unwrap(),
            },
            format: MediaFormat::Ulaw,
            channel_id: None,
            variables: BTreeMap::new(),
        })
        .await
        .unwrap();
    let expected: SocketAddr = "127.0.0.1:16554".parse().unwrap();
    assert_eq!(
        ExternalMediaInfo::from_channel(&media),
        Some(ExternalMediaInfo::Rtp {
            asterisk_rtp: expected
        })
    );
    client.add_channel(&bridge.id, &caller).await.unwrap();
    let addr = client
        .get_variable(&media.id, "UNICASTRTP_LOCAL_ADDRESS")
        .await
        .unwrap();
    assert_eq!(addr, "127.0.0.1");
    client
        .hangup(&caller, Some(HangupReason::Normal))
        .await
        .unwrap();
    client.destroy_bridge(&bridge.id).await.unwrap();

    let seen = ari.seen();
    let lines: Vec<(String, String)> = seen
        .iter()
        .map(|s| (s.method.clone(), s.path.clone()))
        .collect();
    let b = "/ari/bridges/48a613d3-24b6-4aeb-8d55-b25bfcdc376e";
    let expected_lines = [
        ("POST", "/ari/channels/1795241008.163/answer".to_owned()),
        ("POST", "/ari/bridges".to_owned()),
        ("POST", "/ari/channels/externalMedia".to_owned()),
        ("POST", format!("{b}/addChannel")),
        ("GET", "/ari/channels/1795241008.164/variable".to_owned()),
        ("DELETE", "/ari/channels/1795241008.163".to_owned()),
        ("DELETE", b.to_owned()),
    ];
    assert_eq!(
        lines,
        expected_lines
            .iter()
            .map(|(m, p)| (m.to_string(), p.clone()))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        seen[1].query(),
        [("type", "mixing"), ("name", "fx01-bridge")]
    );
    assert_eq!(
        seen[2].query(),
        [
            ("app", "vg-test"),
            ("format", "ulaw"),
            ("external_host", "127.0.0.1:40010"),
            ("encapsulation", "rtp"),
            ("transport", "udp"),
        ]
    );
    assert_eq!(seen[3].query(), [("channel", "1795241008.163")]);
    assert_eq!(seen[4].query(), [("variable", "UNICASTRTP_LOCAL_ADDRESS")]);
    assert_eq!(seen[5].query(), [("reason", "normal")]);
    for s in &seen {
        // gw:gwsecret
        assert_eq!(s.authorization.as_deref(), Some("Basic Z3c6Z3dzZWNyZXQ="));
        assert_eq!(s.body, None, "{} {}", s.method, s.path);
    }
}

#[tokio::test]
async fn originate_sends_variables_in_the_json_body() {
    let ari = MockAri::start().await;
    ari.reply(fixture_reply(F03, "POST", "/ari/channels", 200));
    let channel = ari
        .client()
        .originate(&Originate {
            endpoint: "Local/ring-then-answer@fx-caller".into(),
            channel_id: Some(ChannelId::new("fx03-out-1")),
            other_channel_id: Some(ChannelId::new("fx03-out-1-b")),
            app_args: vec!["outbound".into(), "42".into()],
            caller_id: Some("\"Gateway\" <+15550001111>".into()),
            timeout: Some(std::time::Duration::from_secs(20)),
            variables: BTreeMap::from([("CALL_ID".to_owned(), "c-1".to_owned())]),
        })
        .await
        .unwrap();
    assert_eq!(channel.state, ari::ChannelState::Down);
    let seen = &ari.seen()[0];
    assert_eq!(
        (seen.method.as_str(), seen.path.as_str()),
        ("POST", "/ari/channels")
    );
    assert_eq!(
        seen.query(),
        [
            ("endpoint", "Local/ring-then-answer@fx-caller"),
            ("app", "vg-test"),
            ("channelId", "fx03-out-1"),
            ("otherChannelId", "fx03-out-1-b"),
            ("callerId", "\"Gateway\" <+15550001111>"),
            ("timeout", "20"),
            ("appArgs", "outbound,42"),
        ]
    );
    assert_eq!(seen.body, Some(json!({"variables": {"CALL_ID": "c-1"}})));
}

#[tokio::test]
async fn external_media_audiosocket_and_websocket_as_in_fixture_12() {
    let ari = MockAri::start().await;
    ari.reply(fixture_reply(F12, "POST", "/externalMedia", 200));
    let client = ari.client();
    let uuid = "24cfda69-4aa5-40c1-9dda-7efedfbb10d5";
    let channel = client
        .external_media(&ExternalMedia {
            transport: ExternalMediaTransport::AudioSocket {
                external_host: "127.0.0.1:40120".parse().unwrap(),
                uuid: uuid.into(),
            },
            format: MediaFormat::Slin,
            channel_id: None,
            variables: BTreeMap::from([("CALL_ID".to_owned(), "c-2".to_owned())]),
        })
        .await
        .unwrap();
    assert_eq!(
        ExternalMediaInfo::from_channel(&channel),
        Some(ExternalMediaInfo::AudioSocket { uuid: uuid.into() })
    );
    let seen = ari.seen().remove(0);
    assert_eq!(
        seen.query(),
        [
            ("app", "vg-test"),
            ("format", "slin"),
            ("external_host", "127.0.0.1:40120"),
            ("encapsulation", "audiosocket"),
            ("transport", "tcp"),
            ("data", uuid),
        ]
    );
    assert_eq!(seen.body, Some(json!({"variables": {"CALL_ID": "c-2"}})));

    // The media WebSocket, server mode with JSON control messages: the fourth
    // externalMedia of fixture 12.
    let body = serde_json::from_str::<serde_json::Value>(
        &std::fs::read_to_string(
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/ari-fixtures")
                .join(F12),
        )
        .unwrap(),
    )
    .unwrap()["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["request"]["query"]["transport_data"] == "f(json)")
        .unwrap()["response"]["body"]
        .clone();
    ari.reply(Reply::Json(200, body));
    let channel = client
        .external_media(&ExternalMedia {
            transport: ExternalMediaTransport::WebSocket {
                connection: WebSocketConnection::Server,
                transport_data: Some("f(json)".into()),
            },
            format: MediaFormat::Ulaw,
            channel_id: Some(ChannelId::new("media-1")),
            variables: BTreeMap::new(),
        })
        .await
        .unwrap();
    assert_eq!(
        ExternalMediaInfo::from_channel(&channel),
        Some(ExternalMediaInfo::WebSocket {
            connection_id: "06cf9a42-2e1b-476d-afb0-be7df719a2fa".into(),
            optimal_frame_size: Some(160),
        })
    );
    let seen = ari.seen().remove(1);
    assert_eq!(
        seen.query(),
        [
            ("app", "vg-test"),
            ("format", "ulaw"),
            ("channelId", "media-1"),
            ("transport", "websocket"),
            ("encapsulation", "none"),
            ("transport_data", "f(json)"),
            ("connection_type", "server"),
        ]
    );
    assert_eq!(seen.body, None);
}

#[tokio::test]
async fn ids_and_values_are_percent_encoded_on_the_wire() {
    let ari = MockAri::start().await;
    ari.reply(Reply::Empty(204)).reply(Reply::Empty(204));
    let client = ari.client();
    let odd = ChannelId::new("fx;2 /../bridges?x=1#y");
    client
        .set_variable(&odd, "X&variable=Y", "a=b&c d%")
        .await
        .unwrap();
    client
        .add_channel(&BridgeId::new("b/1"), &odd)
        .await
        .unwrap();
    let seen = ari.seen();
    assert_eq!(
        seen[0].path,
        "/ari/channels/fx;2%20%2F..%2Fbridges%3Fx=1%23y/variable"
    );
    assert_eq!(
        seen[0].query(),
        [("variable", "X&variable=Y"), ("value", "a=b&c d%")]
    );
    assert_eq!(seen[1].path, "/ari/bridges/b%2F1/addChannel");
    assert_eq!(seen[1].query(), [("channel", "fx;2 /../bridges?x=1#y")]);
}

#[tokio::test]
async fn values_that_would_change_meaning_are_refused_before_sending() {
    let ari = MockAri::start().await;
    let client = ari.client();
    let ch = ChannelId::new("1");
    let originate = Originate {
        endpoint: "PJSIP/100".into(),
        app_args: vec!["a,b".into()],
        ..Originate::default()
    };
    let errors = [
        client.originate(&originate).await.unwrap_err(),
        client.originate(&Originate::default()).await.unwrap_err(),
        client
            .send_dtmf(&ch, "1;2", DtmfTiming::default())
            .await
            .unwrap_err(),
        client.play(&ch, &[], None).await.unwrap_err(),
        client
            .play(&ch, &["sound:a,sound:b"], None)
            .await
            .unwrap_err(),
        client.hangup(&ChannelId::new(""), None).await.unwrap_err(),
        client
            .external_media(&ExternalMedia {
                transport: ExternalMediaTransport::AudioSocket {
                    external_host: "127.0.0.1:1".parse().unwrap(),
                    uuid: "not-a-uuid".into(),
                },
                format: MediaFormat::Slin16,
                channel_id: None,
                variables: BTreeMap::new(),
            })
            .await
            .unwrap_err(),
    ];
    for e in errors {
        assert!(matches!(e, AriError::InvalidRequest { .. }), "{e}");
    }
    assert!(ari.seen().is_empty(), "{:?}", ari.seen());
}

/// Calls every client operation once and checks that together they use every entry
/// of the request catalogue, so the contract test covers all the client sends.
#[tokio::test]
async fn every_operation_uses_a_catalogued_request() {
    let ari = MockAri::start().await;
    let channel = fixture_reply(F01, "GET", "/ari/channels/", 200);
    let bridge = fixture_reply(F01, "POST", "/ari/bridges", 200);
    let playback = fixture_reply(F06, "POST", "/play", 201);
    let app = fixture_reply(F03, "GET", "/applications/", 200);
    let recording = Reply::Json(
        201,
        json!({"name": "r1", "format": "wav", "target_uri": "channel:1", "state": "queued"}),
    );
    let empty = Reply::Empty(204);
    let list = |r: &Reply| match r {
        Reply::Json(_, v) => Reply::Json(200, json!([v])),
        _ => unreachable!(),
    };
    for reply in [
        list(&channel),
        channel.clone(),
        channel.clone(),
        empty.clone(),
        empty.clone(),
        empty.clone(),
        playback.clone(),
        recording.clone(),
        channel.clone(),
        empty.clone(),
        empty.clone(),
        fixture_reply(F01, "GET", "/variable", 200),
        empty.clone(),
        empty.clone(),
        channel.clone(),
        bridge.clone(),
        list(&bridge),
        bridge.clone(),
        empty.clone(),
        empty.clone(),
        empty.clone(),
        playback.clone(),
        recording,
        playback,
        empty.clone(),
        empty,
        list(&app),
        app.clone(),
        app,
        fixture_reply(F05, "GET", "/asterisk/info", 200),
        fixture_reply(F05, "GET", "/asterisk/ping", 200),
    ] {
        ari.reply(reply);
    }
    let c = ari.client();
    let ch = ChannelId::new("1795241008.163");
    let br = BridgeId::new("48a613d3-24b6-4aeb-8d55-b25bfcdc376e");
    let pb = PlaybackId::new("p1");
    let record = Record {
        name: "r1".into(),
        format: "wav".into(),
        max_duration: Some(std::time::Duration::from_secs(60)),
        max_silence: None,
        if_exists: Some(IfExists::Overwrite),
        beep: Some(false),
        terminate_on: Some(TerminateOn::Hash),
    };
    c.list_channels().await.unwrap();
    c.get_channel(&ch).await.unwrap();
    c.originate(&Originate {
        endpoint: "PJSIP/100".into(),
        ..Default::default()
    })
    .await
    .unwrap();
    c.answer(&ch).await.unwrap();
    c.hangup(&ch, None).await.unwrap();
    c.ring(&ch).await.unwrap();
    c.play(&ch, &["sound:hello-world", "digits:12"], Some(&pb))
        .await
        .unwrap();
    c.record(&ch, &record).await.unwrap();
    let snoop = Snoop {
        spy: SnoopDirection::In,
        whisper: SnoopDirection::None,
        app_args: vec!["snoop".into()],
        snoop_id: None,
    };
    c.snoop(&ch, &snoop).await.unwrap();
    c.redirect(&ch, "SIP/209").await.unwrap();
    let target = DialplanTarget {
        context: Some("fx-caller".into()),
        extension: Some("after-stasis".into()),
        priority: Some(1),
        label: None,
    };
    c.continue_in_dialplan(&ch, &target).await.unwrap();
    c.get_variable(&ch, "X").await.unwrap();
    c.set_variable(&ch, "TALK_DETECT(set)", "").await.unwrap();
    let timing = DtmfTiming {
        between: Some(100),
        duration: Some(200),
        ..Default::default()
    };
    c.send_dtmf(&ch, "5#", timing).await.unwrap();
    c.external_media(&ExternalMedia {
        transport: ExternalMediaTransport::UnicastRtp {
            external_host: "127.0.0.1:4000".parse().unwrap(),
        },
        format: MediaFormat::Alaw,
        channel_id: None,
        variables: BTreeMap::new(),
    })
    .await
    .unwrap();
    c.create_bridge(Some(&br), None).await.unwrap();
    c.list_bridges().await.unwrap();
    c.get_bridge(&br).await.unwrap();
    c.destroy_bridge(&br).await.unwrap();
    c.add_channel(&br, &ch).await.unwrap();
    c.remove_channel(&br, &ch).await.unwrap();
    c.play_on_bridge(&br, &["sound:beep"], None).await.unwrap();
    c.record_bridge(&br, &record).await.unwrap();
    c.get_playback(&pb).await.unwrap();
    c.stop_playback(&pb).await.unwrap();
    c.stop_recording(&RecordingName::new("r1")).await.unwrap();
    c.list_applications().await.unwrap();
    c.get_application("vg-test").await.unwrap();
    c.subscribe("channel:1795241008.163").await.unwrap();
    c.asterisk_info().await.unwrap();
    c.ping().await.unwrap();
    assert_eq!(ari.unused_replies(), 0);

    // Map each request the server saw back to its catalogue entry.
    let seen = ari.seen();
    let mut used = BTreeSet::new();
    for s in &seen {
        let spec = ALL_REQUESTS
            .iter()
            .find(|spec| {
                spec.method.as_str() == s.method && route_matches(spec.path_template, &s.path)
            })
            .unwrap_or_else(|| panic!("{} {} is not catalogued", s.method, s.path));
        for (k, _) in &s.query {
            assert!(
                spec.query_params.contains(&k.as_str()),
                "{}: {k}",
                spec.name
            );
        }
        used.insert(spec.name);
    }
    let all: BTreeSet<_> = ALL_REQUESTS.iter().map(|s| s.name).collect();
    assert_eq!(used, all, "catalogue entries no operation uses");
    let record_query = &seen[7].query();
    assert_eq!(
        record_query,
        &[
            ("name", "r1"),
            ("format", "wav"),
            ("maxDurationSeconds", "60"),
            ("ifExists", "overwrite"),
            ("beep", "false"),
            ("terminateOn", "#"),
        ]
    );
    assert_eq!(
        seen[6].query(),
        [
            ("media", "sound:hello-world,digits:12"),
            ("playbackId", "p1")
        ]
    );
}

/// `/ari` + template with `{x}` matching one non-empty segment; literal segments
/// win (so `/channels/externalMedia` is not `/channels/{channelId}`).
fn route_matches(template: &str, path: &str) -> bool {
    let Some(rest) = path.strip_prefix("/ari") else {
        return false;
    };
    let t: Vec<&str> = template.split('/').collect();
    let p: Vec<&str> = rest.split('/').collect();
    if t.len() != p.len() {
        return false;
    }
    let literal = t.iter().zip(&p).all(|(t, p)| t.starts_with('{') || t == p);
    let shadowed = template.contains('{')
        && ALL_REQUESTS
            .iter()
            .any(|o| !o.path_template.contains('{') && o.path_template == rest);
    literal && !shadowed
}
