//! AudioSocket legs over real TCP on 127.0.0.1: the test plays Asterisk,
//! byte for byte as ari-fixtures/12 recorded it.

use super::support::*;
use crate::adapter::media::{AudioSocketListener, MediaMetrics, UdpMediaConfig, UdpMediaEndpoint};
use crate::application::ports::media::{
    MediaEndpoint, MediaError, MediaEvent, MediaLeg, MediaRequest, Transport,
};
use crate::application::ports::telephony::{AudioTransport, WireFormat};
use crate::domain::CallId;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn audiosocket_endpoint() -> (UdpMediaEndpoint, MediaMetrics) {
    let metrics = MediaMetrics::default();
    let listener = AudioSocketListener::bind(SocketAddr::new(LOCAL, 0), metrics.clone()).unwrap();
    let ep = UdpMediaEndpoint::new(UdpMediaConfig::new(LOCAL, free_range(2)))
        .with_metrics(metrics.clone())
        .with_audiosocket(listener);
    (ep, metrics)
}

async fn open(ep: &UdpMediaEndpoint, format: WireFormat) -> (MediaLeg, SocketAddr, uuid::Uuid) {
    let leg = ep
        .open(MediaRequest {
            call: CallId::parse("as-call").unwrap(),
            transport: Transport::Audiosocket,
            format,
            stt_rate: 16_000,
        })
        .await
        .unwrap();
    let AudioTransport::AudioSocket {
        external_host,
        uuid,
    } = leg.attach.clone()
    else {
        panic!("not an AudioSocket leg: {:?}", leg.attach);
    };
    (leg, external_host, uuid.parse().unwrap())
}

/// Asterisk's `ast_audiosocket_init`: connect, then `0x01` + the UUID.
async fn connect(to: SocketAddr, id: uuid::Uuid) -> TcpStream {
    let mut s = TcpStream::connect(to).await.unwrap();
    let mut m = vec![0x01, 0x00, 0x10];
    m.extend_from_slice(id.as_bytes());
    s.write_all(&m).await.unwrap();
    s
}

/// One message as Asterisk frames it.
fn message(kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut m = vec![kind];
    m.extend(u16::try_from(payload.len()).unwrap().to_be_bytes());
    m.extend_from_slice(payload);
    m
}

/// 20 ms of a 6 kHz tone at 16 kHz, little-endian: above what 8 kHz carries.
fn slin16_tone(frame: usize) -> Vec<u8> {
    (0..320)
        .flat_map(|i| {
            let t = (frame * 320 + i) as f64 / 16_000.0;
            ((8_000.0 * (2.0 * std::f64::consts::PI * 6_000.0 * t).sin()) as i16).to_le_bytes()
        })
        .collect()
}

/// Reads one message: kind and payload.
async fn read_message(s: &mut TcpStream) -> (u8, Vec<u8>) {
    let mut h = [0u8; 3];
    tokio::time::timeout(PATIENCE, s.read_exact(&mut h))
        .await
        .expect("a message in time")
        .unwrap();
    let mut p = vec![0; usize::from(u16::from_be_bytes([h[1], h[2]]))];
    s.read_exact(&mut p).await.unwrap();
    (h[0], p)
}

#[tokio::test]
async fn slin16_caller_audio_and_dtmf_come_up_at_16_khz_after_the_uuid_matched() {
    let (ep, _) = audiosocket_endpoint();
    let (mut leg, at, id) = open(&ep, WireFormat::Slin16).await;
    let mut s = connect(at, id).await;
    assert!(matches!(
        next_event(&mut leg).await,
        MediaEvent::Latched { .. }
    ));
    // Two frames in one write, then a digit, as Asterisk may coalesce them.
    let mut burst = message(0x12, &slin16_tone(0));
    burst.extend(message(0x12, &slin16_tone(1)));
    burst.extend(message(0x03, b"7"));
    s.write_all(&burst).await.unwrap();
    let mut frames = 0;
    loop {
        match next_event(&mut leg).await {
            MediaEvent::Audio(f) => {
                assert_eq!(
                    (f.rate, f.pcm.len() % 320),
                    (16_000, 0),
                    "16 kHz, 20 ms frames, no 8 kHz detour"
                );
                let peak = f.samples().iter().map(|s| s.unsigned_abs()).max().unwrap();
                assert!(peak > 4_000, "the 6 kHz tone survived: peak {peak}");
                frames += f.pcm.len() / 320;
            }
            MediaEvent::Dtmf { digit } => {
                assert_eq!(digit, '7');
                break;
            }
            _ => {}
        }
    }
    assert_eq!(frames, 2);
}

#[tokio::test]
async fn agent_audio_goes_out_paced_in_0x12_frames_without_waiting_for_asterisk_audio() {
    let (ep, _) = audiosocket_endpoint();
    let (leg, at, id) = open(&ep, WireFormat::Slin16).await;
    let mut s = connect(at, id).await;
    // Half a second of 16 kHz audio, queued at once (maybe before the
    // connection is matched: none of it may be lost); Asterisk sends nothing.
    let pcm: Vec<i16> = (0..8_000)
        .map(|i| (i * 7 % 20_000 - 10_000) as i16)
        .collect();
    leg.commands
        .audio
        .send(pcm_chunk(0, pcm.clone(), 16_000))
        .await
        .unwrap();
    leg.commands.audio.send(end_of_speech(0)).await.unwrap();
    let mut times = Vec::new();
    let mut got = Vec::new();
    while got.len() < pcm.len() {
        let (kind, payload) = read_message(&mut s).await;
        assert_eq!((kind, payload.len()), (0x12, 640), "slin16 frames of 20 ms");
        times.push(Instant::now());
        got.extend(
            payload
                .chunks_exact(2)
                .map(|b| i16::from_le_bytes([b[0], b[1]])),
        );
    }
    assert_eq!(got[..pcm.len()], pcm[..], "16 kHz in, the same samples out");
    let spread = *times.last().unwrap() - times[0];
    assert!(
        spread >= Duration::from_millis(24 * 20 - 30),
        "25 frames were paced over {spread:?}, not burst"
    );
}

#[tokio::test]
async fn an_unknown_uuid_is_hung_up_and_never_reaches_a_leg() {
    let (ep, metrics) = audiosocket_endpoint();
    let (mut leg, at, _) = open(&ep, WireFormat::Slin).await;
    let mut stranger = connect(at, uuid::Uuid::new_v4()).await;
    stranger.write_all(&message(0x10, &[1; 320])).await.unwrap();
    let (kind, payload) = read_message(&mut stranger).await;
    assert_eq!((kind, payload.len()), (0x00, 0), "hangup");
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(PATIENCE, stranger.read_to_end(&mut rest)).await;
    assert!(matches!(closed, Ok(Ok(0))), "then closed");
    until("the refusal counted", || metrics.dropped_foreign.get() == 1).await;
    assert!(leg.events.try_recv().is_err(), "the leg heard nothing");
}

#[tokio::test]
async fn audio_before_the_uuid_or_a_bad_header_closes_the_connection() {
    let (ep, metrics) = audiosocket_endpoint();
    let (_leg, at, id) = open(&ep, WireFormat::Slin).await;
    let mut early = TcpStream::connect(at).await.unwrap();
    early.write_all(&message(0x10, &[1; 320])).await.unwrap();
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(PATIENCE, early.read_to_end(&mut rest)).await;
    assert!(matches!(closed, Ok(Ok(0))), "closed without a word");
    // The real one still gets through, then sends a length over the bound.
    let mut s = connect(at, id).await;
    s.write_all(&[0x10, 0xff, 0xff]).await.unwrap();
    let closed = tokio::time::timeout(PATIENCE, s.read_to_end(&mut rest)).await;
    assert!(
        matches!(closed, Ok(Ok(0))),
        "a 65,535-byte message is refused"
    );
    assert_eq!(metrics.dropped_foreign.get(), 1);
    assert_eq!(metrics.dropped_malformed.get(), 1);
}

#[tokio::test]
async fn audiosocket_refuses_g711_and_an_endpoint_without_a_listener() {
    let (ep, _) = audiosocket_endpoint();
    let request = |format| MediaRequest {
        call: CallId::parse("as-call").unwrap(),
        transport: Transport::Audiosocket,
        format,
        stt_rate: 16_000,
    };
    assert!(matches!(
        ep.open(request(WireFormat::Ulaw)).await,
        Err(MediaError::Unsupported(_))
    ));
    assert!(matches!(
        endpoint(2).open(request(WireFormat::Slin16)).await,
        Err(MediaError::Unsupported(_))
    ));
}
