//! Scenarios through the handle: real RTP both ways, DTMF, faults.

// Tests read the clock to make their inputs and to measure.
#![allow(clippy::disallowed_methods)]

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::Value;
use tokio::net::UdpSocket;
use tokio_tungstenite::tungstenite::Message;
use vg_asterisk_sim::{RestFault, SimConfig, SimHandle, Simulator, g711};

const T: Duration = Duration::from_secs(5);

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn events(sim: &SimHandle, app: &str) -> Ws {
    let url = format!("{}?app={app}&api_key=gw:gwsecret", sim.ws_url());
    tokio_tungstenite::connect_async(url).await.expect("ws").0
}

/// Next event of type `ty` (others skipped), with a failure guard.
async fn next_of(ws: &mut Ws, ty: &str) -> Value {
    tokio::time::timeout(T, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) => {
                    let v: Value = serde_json::from_str(&t).expect("json");
                    if v["type"] == ty {
                        return v;
                    }
                }
                Some(Ok(_)) => {}
                other => panic!("socket ended waiting for {ty}: {other:?}"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {ty} within {T:?}"))
}

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

async fn post(sim: &SimHandle, path: &str) -> reqwest::Response {
    client()
        .post(format!("{}/ari{path}", sim.base_url()))
        .basic_auth("gw", Some("gwsecret"))
        .send()
        .await
        .expect("post")
}

/// Inbound call → answer → bridge with externalMedia toward our UDP socket; returns
/// (call, caller channel, media channel, our socket, sim's RTP address).
async fn connected_call(
    sim: &SimHandle,
    ws: &mut Ws,
) -> (
    vg_asterisk_sim::SimCallId,
    String,
    String,
    UdpSocket,
    String,
) {
    let call = sim.place_inbound_call("+15551234567", "\"Alice Caller\" <+15557654321>");
    let start = next_of(ws, "StasisStart").await;
    assert_eq!(start["args"][0], "+15551234567");
    assert_eq!(start["channel"]["state"], "Ring");
    let chan = start["channel"]["id"].as_str().unwrap().to_string();
    assert_eq!(
        post(sim, &format!("/channels/{chan}/answer"))
            .await
            .status(),
        204
    );
    let bridge: Value = post(sim, "/bridges?type=mixing")
        .await
        .json()
        .await
        .unwrap();
    let bridge = bridge["id"].as_str().unwrap().to_string();
    assert_eq!(
        post(sim, &format!("/bridges/{bridge}/addChannel?channel={chan}"))
            .await
            .status(),
        204
    );
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let host = sock.local_addr().unwrap();
    let em: Value = post(
        sim,
        &format!("/channels/externalMedia?app=voice-gateway&external_host={host}&format=ulaw"),
    )
    .await
    .json()
    .await
    .unwrap();
    let media = em["id"].as_str().unwrap().to_string();
    // Bridged only once in Stasis, as the real Asterisk requires.
    assert_eq!(
        next_of(ws, "StasisStart").await["channel"]["id"],
        media.as_str()
    );
    let rtp = format!(
        "{}:{}",
        em["channelvars"]["UNICASTRTP_LOCAL_ADDRESS"]
            .as_str()
            .unwrap(),
        em["channelvars"]["UNICASTRTP_LOCAL_PORT"].as_str().unwrap()
    );
    assert_eq!(
        post(
            sim,
            &format!("/bridges/{bridge}/addChannel?channel={media}")
        )
        .await
        .status(),
        204
    );
    (call, chan, media, sock, rtp)
}

/// Fidelity (found on Asterisk 20.20.1, issue 13): `POST /channels/externalMedia`
/// answers while the channel is `Down` and not yet in Stasis; bridging it then is
/// refused with 422, and its `StasisStart` follows the response.
#[tokio::test]
async fn an_external_media_channel_enters_stasis_after_the_response() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let mut ws = events(&sim, "voice-gateway").await;
    let bridge: Value = post(&sim, "/bridges?type=mixing")
        .await
        .json()
        .await
        .unwrap();
    let bridge = bridge["id"].as_str().unwrap().to_string();
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let host = sock.local_addr().unwrap();
    let em: Value = post(
        &sim,
        &format!(
            "/channels/externalMedia?app=voice-gateway&external_host={host}&format=ulaw&channelId=em-1"
        ),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(em["state"], "Down");
    assert!(!sim.in_stasis("em-1"));
    let early = post(&sim, &format!("/bridges/{bridge}/addChannel?channel=em-1")).await;
    assert_eq!(early.status(), 422);
    let body: Value = early.json().await.unwrap();
    assert_eq!(body["message"], "Channel not in Stasis application");
    let start = next_of(&mut ws, "StasisStart").await;
    assert_eq!(start["channel"]["id"], "em-1");
    assert_eq!(start["channel"]["state"], "Up");
    assert!(sim.in_stasis("em-1"));
    assert_eq!(
        post(&sim, &format!("/bridges/{bridge}/addChannel?channel=em-1"))
            .await
            .status(),
        204
    );
}

fn tone(ms: usize) -> Vec<i16> {
    (0..ms * 8)
        .map(|i| ((i as f64 * 2.0 * std::f64::consts::PI * 1000.0 / 8000.0).sin() * 8000.0) as i16)
        .collect()
}

#[tokio::test]
async fn caller_audio_arrives_as_paced_rtp_and_silence_sends_nothing() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let mut ws = events(&sim, "voice-gateway").await;
    let (call, _chan, _media, sock, _rtp) = connected_call(&sim, &mut ws).await;
    assert!(sim.caller_say(call, &tone(200)));
    let mut buf = [0u8; 2048];
    let mut seqs = Vec::new();
    for _ in 0..10 {
        let (n, _) = tokio::time::timeout(T, sock.recv_from(&mut buf))
            .await
            .expect("rtp")
            .unwrap();
        assert_eq!(n, 12 + 160);
        assert_eq!(buf[1] & 0x7f, 0, "PT 0");
        assert_eq!(buf[1] & 0x80, 0, "no marker on the first packet");
        seqs.push(u16::from_be_bytes([buf[2], buf[3]]));
    }
    assert!(seqs.windows(2).all(|w| w[1] == w[0].wrapping_add(1)));
    // 200 ms of speech is 10 packets; after it nothing more comes (no comfort noise).
    assert!(
        tokio::time::timeout(Duration::from_millis(300), sock.recv_from(&mut buf))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn what_the_gateway_sends_is_recorded_and_decoded() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let mut ws = events(&sim, "voice-gateway").await;
    let (call, _chan, _media, sock, rtp) = connected_call(&sim, &mut ws).await;
    for i in 0..5u16 {
        let mut p = vec![0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4];
        p[2..4].copy_from_slice(&(100 + i).to_be_bytes());
        p[4..8].copy_from_slice(&(u32::from(i) * 160).to_be_bytes());
        p.extend((0..160).map(|_| g711::ulaw_encode(1000)));
        sock.send_to(&p, &rtp).await.unwrap();
    }
    assert!(sim.wait_for(T, |s| s.received(call).len() == 5).await);
    let rx = sim.received(call);
    assert_eq!(
        rx.iter().map(|p| p.seq).collect::<Vec<_>>(),
        vec![100, 101, 102, 103, 104]
    );
    let pcm = sim.heard_pcm(call);
    assert_eq!(pcm.len(), 800);
    assert!(pcm.iter().all(|s| (i32::from(*s) - 1000).abs() < 64));
}

/// The cheap forms of `received(..).len()` and `heard_pcm(..)[from..]`,
/// for scripts polling many calls, say the same.
#[tokio::test]
async fn what_was_heard_since_a_point_is_the_tail_of_everything_heard() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let mut ws = events(&sim, "voice-gateway").await;
    let (call, _chan, _media, sock, rtp) = connected_call(&sim, &mut ws).await;
    for i in 0..5u16 {
        let mut p = vec![0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4];
        p[2..4].copy_from_slice(&(100 + i).to_be_bytes());
        p[4..8].copy_from_slice(&(u32::from(i) * 160).to_be_bytes());
        p.extend((0..160).map(|k| g711::ulaw_encode(i as i16 * 3000 + k * 8)));
        sock.send_to(&p, &rtp).await.unwrap();
    }
    assert!(sim.wait_for(T, |s| s.received_count(call) == 5).await);
    let pcm = sim.heard_pcm(call);
    assert_eq!(sim.heard_len(call), pcm.len());
    assert_eq!(pcm.len(), 800);
    for from in [0, 1, 159, 160, 161, 479, 799, 800, 900] {
        assert_eq!(
            sim.heard_pcm_since(call, from),
            pcm[from.min(800)..],
            "from {from}"
        );
    }
}

#[tokio::test]
async fn dtmf_talk_detect_and_caller_hangup() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let mut ws = events(&sim, "voice-gateway").await;
    let (call, chan, _media, _sock, _rtp) = connected_call(&sim, &mut ws).await;
    let r = post(
        &sim,
        &format!("/channels/{chan}/variable?variable=TALK_DETECT(set)&value=300"),
    )
    .await;
    assert_eq!(r.status(), 204);
    sim.caller_dtmf(call, "1#");
    assert_eq!(next_of(&mut ws, "ChannelDtmfReceived").await["digit"], "1");
    assert_eq!(next_of(&mut ws, "ChannelDtmfReceived").await["digit"], "#");
    sim.caller_say(call, &tone(100));
    next_of(&mut ws, "ChannelTalkingStarted").await;
    assert_eq!(
        next_of(&mut ws, "ChannelTalkingFinished").await["duration"],
        100
    );
    sim.caller_hangup(call);
    let hr = next_of(&mut ws, "ChannelHangupRequest").await;
    assert_eq!(hr["cause"], 16);
    assert!(hr.get("soft").is_none());
    next_of(&mut ws, "StasisEnd").await;
    assert!(sim.call_ended(call));
}

#[tokio::test]
async fn dropped_socket_loses_events_and_restart_clears_everything() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let mut ws = events(&sim, "voice-gateway").await;
    let (call, chan, _media, _sock, _rtp) = connected_call(&sim, &mut ws).await;
    sim.drop_events_socket("voice-gateway");
    // The client sees the connection end without a close frame.
    let end = tokio::time::timeout(T, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(_))) => continue,
                other => return other,
            }
        }
    })
    .await
    .unwrap();
    assert!(!matches!(end, Some(Ok(Message::Close(Some(_))))));
    assert!(sim.wait_for(T, |s| !s.app_connected("voice-gateway")).await);
    sim.caller_dtmf(call, "5");
    assert!(sim.wait_for(T, |s| s.events_sent() > 0).await);
    let sent = sim.events_sent();
    // Still there after the drop; the DTMF while disconnected is lost, never replayed.
    let mut ws = events(&sim, "voice-gateway").await;
    let got = client()
        .get(format!("{}/ari/channels/{chan}", sim.base_url()))
        .basic_auth("gw", Some("gwsecret"))
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(sim.events_sent(), sent);
    sim.restart(Duration::from_millis(300));
    next_of(&mut ws, "StasisEnd").await;
    assert!(sim.channel_ids().is_empty() && sim.bridge_ids().is_empty());
    let r = client()
        .get(format!("{}/ari/asterisk/ping", sim.base_url()))
        .basic_auth("gw", Some("gwsecret"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert!(sim.wait_for(T, |s| s.media_stream_count() == 0).await);
}

#[tokio::test]
async fn rest_faults_and_auth() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let base = sim.base_url();
    let r = client()
        .get(format!("{base}/ari/asterisk/ping"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().get("www-authenticate").is_some());
    let r = client()
        .get(format!("{base}/ari/asterisk/ping?api_key=gw:gwsecret"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    sim.set_rest_fault(
        "GET",
        "/ari/asterisk/*",
        RestFault {
            status: Some(500),
            times: Some(1),
            ..Default::default()
        },
    );
    let r = client()
        .get(format!("{base}/ari/asterisk/ping?api_key=gw:gwsecret"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 500);
    let r = client()
        .get(format!("{base}/ari/asterisk/ping?api_key=gw:gwsecret"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn originate_outcomes_are_configurable() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let mut ws = events(&sim, "gw").await;
    sim.set_outcome("+15550009999", vg_asterisk_sim::Outcome::Busy);
    let r = client()
        .post(format!(
            "{}/ari/channels?endpoint=PJSIP/%2B15550009999@trunk&app=gw",
            sim.base_url()
        ))
        .basic_auth("gw", Some("gwsecret"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "a failing originate still answers 200");
    assert_eq!(next_of(&mut ws, "Dial").await["dialstatus"], "");
    assert_eq!(next_of(&mut ws, "Dial").await["dialstatus"], "BUSY");
    assert_eq!(next_of(&mut ws, "ChannelDestroyed").await["cause"], 17);
    assert_eq!(sim.originates()[0].number, "+15550009999");
}

#[tokio::test]
async fn many_calls_in_one_process() {
    let sim = Simulator::start(SimConfig {
        record_payloads: false,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let mut ws = events(&sim, "voice-gateway").await;
    let mut calls = Vec::new();
    for _ in 0..300 {
        calls.push(connected_call(&sim, &mut ws).await);
    }
    for (call, ..) in &calls {
        sim.caller_say(*call, &tone(100));
    }
    let mut buf = [0u8; 256];
    for (.., sock, _) in &calls {
        let (n, _) = tokio::time::timeout(T, sock.recv_from(&mut buf))
            .await
            .expect("rtp")
            .unwrap();
        assert_eq!(n, 172);
    }
    assert_eq!(sim.media_stream_count(), 300);
}

/// chan_websocket's queue (fixture 12, chan_websocket.c): frames we send
/// are queued and re-timed; 900 queued give `MEDIA_XOFF`, `FLUSH_MEDIA`
/// drops what was not played yet, and the emptied queue gives `MEDIA_XON`.
#[tokio::test]
async fn the_media_websocket_queue_flushes_and_sends_xoff_then_xon() {
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let mut ws = events(&sim, "voice-gateway").await;
    let call = sim.place_inbound_call("+15551234567", "+15557654321");
    let chan = next_of(&mut ws, "StasisStart").await["channel"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    post(&sim, &format!("/channels/{chan}/answer")).await;
    let bridge: Value = post(&sim, "/bridges?type=mixing")
        .await
        .json()
        .await
        .unwrap();
    let bridge = bridge["id"].as_str().unwrap().to_string();
    post(
        &sim,
        &format!("/bridges/{bridge}/addChannel?channel={chan}"),
    )
    .await;
    let em: Value = post(
        &sim,
        "/channels/externalMedia?app=voice-gateway&transport=websocket&encapsulation=none\
         &connection_type=server&format=ulaw",
    )
    .await
    .json()
    .await
    .unwrap();
    let media = em["id"].as_str().unwrap().to_string();
    next_of(&mut ws, "StasisStart").await;
    post(
        &sim,
        &format!("/bridges/{bridge}/addChannel?channel={media}"),
    )
    .await;
    let conn = em["channelvars"]["MEDIA_WEBSOCKET_CONNECTION_ID"]
        .as_str()
        .unwrap();
    let url = format!(
        "{}/media/{conn}",
        sim.base_url().replacen("http://", "ws://", 1)
    );
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("sec-websocket-protocol", "media".parse().unwrap());
    let (mut m, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let text = |m: Option<Result<Message, _>>| match m {
        Some(Ok(Message::Text(t))) => Some(t.to_string()),
        _ => None,
    };
    let next_text = async |m: &mut Ws| loop {
        let got = tokio::time::timeout(T, m.next()).await.expect("a message");
        if let Some(t) = text(got) {
            return t;
        }
    };
    assert!(next_text(&mut m).await.starts_with("MEDIA_START"));
    for _ in 0..950 {
        m.send(Message::binary(vec![0xffu8; 160])).await.unwrap();
    }
    assert_eq!(next_text(&mut m).await, "MEDIA_XOFF");
    assert!(sim.received(call).len() >= 900, "the frames are recorded");
    m.send(Message::text("FLUSH_MEDIA")).await.unwrap();
    assert_eq!(next_text(&mut m).await, "MEDIA_XON");
    let played = sim.received(call).len();
    assert!(played < 100, "{played} of 950 frames kept after the flush");
}
