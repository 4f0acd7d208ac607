//! AudioSocket (fixture 12): Asterisk connects to `external_host` over TCP and sends
//! `0x01`+UUID, then `0x10` (slin, 320 bytes) or `0x12` (slin16, 640 bytes) frames every 20 ms,
//! DTMF as `0x03`+ASCII digit. A `0x00` from the peer closes the connection and ends the
//! channel. Frames are `kind, u16 big-endian length, payload`.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use super::MediaEngine;
use super::record::{MediaFormat, Record, RxPacket};

pub(crate) fn frame(kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(3 + payload.len());
    f.push(kind);
    f.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// Connects to the peer and sends the UUID; fails like Asterisk (500) if nobody listens.
/// Returns the sender for extra frames (DTMF) and a receiver that yields once the peer hung up.
pub(crate) async fn open(
    engine: &MediaEngine,
    id: &str,
    peer: SocketAddr,
    uuid: [u8; 16],
    format: MediaFormat,
) -> std::io::Result<(
    mpsc::UnboundedSender<Vec<u8>>,
    tokio::sync::oneshot::Receiver<()>,
)> {
    let stream = TcpStream::connect(peer).await?;
    let (mut rd, mut wr) = stream.into_split();
    wr.write_all(&frame(0x01, &uuid)).await?;
    let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
    let rec = engine.add(id, super::Sink::AudioSocket(tx.clone()), format, true);
    let writer = tokio::spawn(async move {
        while let Some(f) = rx.recv().await {
            if wr.write_all(&f).await.is_err() {
                return;
            }
        }
    });
    let (gone_tx, gone_rx) = tokio::sync::oneshot::channel();
    let (base, keep) = (engine.base, engine.record_payloads);
    let reader = tokio::spawn(async move {
        read_frames(&mut rd, rec, base, keep).await;
        let _ = gone_tx.send(());
    });
    engine.add_task(id, writer.abort_handle());
    engine.add_task(id, reader.abort_handle());
    Ok((tx, gone_rx))
}

async fn read_frames(
    rd: &mut tokio::net::tcp::OwnedReadHalf,
    rec: Arc<Mutex<Record>>,
    base: tokio::time::Instant,
    keep: bool,
) {
    let mut head = [0u8; 3];
    loop {
        if rd.read_exact(&mut head).await.is_err() {
            return;
        }
        let len = usize::from(u16::from_be_bytes([head[1], head[2]]));
        let mut payload = vec![0u8; len];
        if rd.read_exact(&mut payload).await.is_err() {
            return;
        }
        match head[0] {
            0x00 => return,
            0x10 | 0x12 => {
                let at_ms = base.elapsed().as_secs_f64() * 1000.0;
                let mut r = rec.lock().unwrap_or_else(|e| e.into_inner());
                r.packets.push(RxPacket {
                    at_ms,
                    seq: 0,
                    ts: 0,
                    marker: false,
                    pt: 0,
                    ssrc: 0,
                    payload: if keep { payload } else { Vec::new() },
                    forwarded: true,
                });
            }
            _ => {}
        }
    }
}
