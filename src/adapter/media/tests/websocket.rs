//! Media WebSocket legs against a local WebSocket server playing Asterisk's
//! `/media/<id>` endpoint, with the messages ari-fixtures/12 recorded.

use super::support::*;
use crate::application::ports::media::{
    FlushReport, MediaCommand, MediaEndpoint, MediaEvent, MediaLeg, MediaRequest, Transport,
};
use crate::application::ports::telephony::{AudioTransport, WireFormat};
use crate::domain::CallId;
use futures_util::{SinkExt, StreamExt};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::{
    Message,
    handshake::server::{ErrorResponse, Request, Response},
    http::HeaderValue,
};

type ServerWs = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// Asterisk's checks on the upgrade: the path and the `media` subprotocol.
#[allow(clippy::result_large_err)] // tungstenite's callback signature
fn check(req: &Request, mut res: Response) -> Result<Response, ErrorResponse> {
    assert_eq!(req.uri().path(), "/media/conn-1");
    assert_eq!(
        req.headers().get("sec-websocket-protocol").unwrap(),
        "media"
    );
    res.headers_mut()
        .insert("sec-websocket-protocol", HeaderValue::from_static("media"));
    Ok(res)
}

/// A one-connection server; yields the accepted socket once a client asked
/// for `/media/<id>` with subprotocol `media`.
async fn asterisk() -> (String, oneshot::Receiver<ServerWs>) {
    let listener = TcpListener::bind((LOCAL, 0)).await.unwrap();
    let url = format!("ws://{}/media/conn-1", listener.local_addr().unwrap());
    let (tx, rx) = oneshot::channel();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let ws = tokio_tungstenite::accept_hdr_async(tcp, check)
            .await
            .unwrap();
        let _ = tx.send(ws);
    });
    (url, rx)
}

async fn open_ws(url: String) -> MediaLeg {
    let leg = endpoint(2)
        .open(MediaRequest {
            call: CallId::parse("ws-call").unwrap(),
            transport: Transport::Websocket,
            format: WireFormat::Slin16,
            stt_rate: 16_000,
        })
        .await
        .unwrap();
    assert_eq!(leg.attach, AudioTransport::WebSocket);
    leg.commands.try_send(MediaCommand::Connect(url)).unwrap();
    leg
}

/// The next message the server reads, skipping nothing.
async fn next(ws: &mut ServerWs) -> Message {
    tokio::time::timeout(PATIENCE, ws.next())
        .await
        .expect("a message in time")
        .expect("the socket is open")
        .unwrap()
}

fn slin16_frame(level: i16) -> Vec<u8> {
    (0..320)
        .flat_map(|i| if i % 2 == 0 { level } else { -level }.to_le_bytes())
        .collect()
}

#[tokio::test]
async fn audio_before_media_start_and_dtmf_end_come_up() {
    let (url, server) = asterisk().await;
    let mut leg = open_ws(url).await;
    let mut ws = server.await.unwrap();
    assert!(matches!(
        next_event(&mut leg).await,
        MediaEvent::Latched { .. }
    ));
    // Audio first, MEDIA_START after it: the order must not matter.
    ws.send(Message::binary(slin16_frame(3000))).await.unwrap();
    ws.send(Message::text(
        "MEDIA_START connection_id:conn-1 channel:WebSocket/INCOMING/0x1 \
         channel_id:1.1 format:slin16 optimal_frame_size:640 ptime:20",
    ))
    .await
    .unwrap();
    ws.send(Message::binary(slin16_frame(3000))).await.unwrap();
    ws.send(Message::text("DTMF_END digit:5 channel_id:1.1"))
        .await
        .unwrap();
    let mut frames = 0;
    loop {
        match next_event(&mut leg).await {
            MediaEvent::Audio(f) => {
                assert_eq!((f.rate, f.pcm.len() % 320), (16_000, 0));
                frames += f.pcm.len() / 320;
            }
            MediaEvent::Dtmf { digit } => {
                assert_eq!(digit, '5');
                break;
            }
            _ => {}
        }
    }
    assert_eq!(frames, 2);
}

#[tokio::test]
async fn agent_audio_goes_out_paced_and_a_flush_sends_flush_media() {
    let (url, server) = asterisk().await;
    let leg = open_ws(url).await;
    let mut ws = server.await.unwrap();
    let pcm = vec![1000i16; 16_000];
    leg.commands
        .audio
        .send(pcm_chunk(0, pcm, 16_000))
        .await
        .unwrap();
    let mut times = Vec::new();
    while times.len() < 10 {
        match next(&mut ws).await {
            Message::Binary(b) => {
                assert_eq!(b.len(), 640, "one 20 ms slin16 frame per message");
                times.push(Instant::now());
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    let spread = times[9] - times[0];
    assert!(
        spread >= Duration::from_millis(150),
        "paced, not burst: {spread:?}"
    );
    let (reply, report) = oneshot::channel();
    leg.commands
        .try_send(MediaCommand::Flush {
            generation: 1,
            reply,
        })
        .unwrap();
    let report: FlushReport = report.await.unwrap();
    assert!(report.dropped > Duration::from_millis(500));
    // Frames already on their way may come first; then FLUSH_MEDIA.
    loop {
        match next(&mut ws).await {
            Message::Binary(_) => continue,
            Message::Text(t) => {
                assert_eq!(t.as_str(), "FLUSH_MEDIA");
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[tokio::test]
async fn media_xoff_holds_agent_audio_until_media_xon() {
    let (url, server) = asterisk().await;
    let mut leg = open_ws(url).await;
    let mut ws = server.await.unwrap();
    assert!(matches!(
        next_event(&mut leg).await,
        MediaEvent::Latched { .. }
    ));
    ws.send(Message::text("MEDIA_XOFF")).await.unwrap();
    // A frame of ours comes back as audio once the XOFF was read before it.
    ws.send(Message::binary(slin16_frame(10))).await.unwrap();
    while !matches!(next_event(&mut leg).await, MediaEvent::Audio(_)) {}
    leg.commands
        .audio
        .send(pcm_chunk(0, vec![1000i16; 3_200], 16_000))
        .await
        .unwrap();
    let (seen_tx, mut seen) = mpsc::unbounded_channel();
    let held = Duration::from_millis(300);
    let xon_at = Instant::now() + held;
    tokio::spawn(async move {
        loop {
            match tokio::time::timeout_at(xon_at.into(), ws.next()).await {
                Ok(Some(Ok(m))) => {
                    let _ = seen_tx.send((m, Instant::now()));
                }
                Ok(_) => return,
                Err(_) => break,
            }
        }
        let _ = ws.send(Message::text("MEDIA_XON")).await;
        while let Some(Ok(m)) = ws.next().await {
            let _ = seen_tx.send((m, Instant::now()));
        }
    });
    let (first, at) = tokio::time::timeout(PATIENCE, seen.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(first, Message::Binary(_)), "{first:?}");
    assert!(
        at >= xon_at,
        "agent audio went out {:?} before MEDIA_XON",
        xon_at - at
    );
}

/// A media WebSocket that cannot be opened ends the leg, so the session ends
/// the call instead of keeping the caller on dead air. (It once closed the
/// wire and left the leg open, silent, with nothing said to the session.)
/// Asterisk answering 404 (no such connection id) is final: no retry.
#[tokio::test]
async fn a_media_websocket_refused_with_404_ends_the_leg_at_once() {
    let listener = TcpListener::bind((LOCAL, 0)).await.unwrap();
    let url = format!("ws://{}/media/conn-1", listener.local_addr().unwrap());
    let asked = tokio::spawn(async move {
        let (mut tcp, _) = listener.accept().await.unwrap();
        let mut request = vec![0u8; 4096];
        let n = tokio::io::AsyncReadExt::read(&mut tcp, &mut request)
            .await
            .unwrap();
        let response = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
        tokio::io::AsyncWriteExt::write_all(&mut tcp, response.as_bytes())
            .await
            .unwrap();
        // A second attempt would be accepted here: none comes.
        let again = tokio::time::timeout(Duration::from_millis(300), listener.accept()).await;
        (
            String::from_utf8_lossy(&request[..n]).into_owned(),
            again.is_ok(),
        )
    });
    assert_leg_ends(open_ws(url).await).await;
    let (request, again) = asked.await.unwrap();
    assert!(request.starts_with("GET /media/conn-1 "), "{request}");
    assert!(!again, "a 404 is not tried again");
}

/// A URL that does not parse ends the leg at once too.
#[tokio::test]
async fn a_media_websocket_url_that_does_not_parse_ends_the_leg() {
    assert_leg_ends(open_ws("ws:///media/conn-1".into()).await).await;
}

/// The leg ends (its events channel closes) with no event first.
async fn assert_leg_ends(mut leg: MediaLeg) {
    let ended = tokio::time::timeout(PATIENCE, leg.events.recv())
        .await
        .expect("the leg ends in time");
    assert!(ended.is_none(), "no event, the leg ended: {ended:?}");
}
