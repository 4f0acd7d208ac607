//! AudioSocket (fixture 12): Asterisk connects to `external_host` over TCP and sends
//! `0x01`+UUID, then `0x10` (slin, 320 bytes) or `0x12` (slin16, 640 bytes) frames every 20 ms
//! (in a two-member bridge only while the caller talks: `audiosocket_write` sends just the
//! frames the bridge hands it), DTMF as `0x03`+ASCII digit. A `0x00` from the peer closes the
//! connection and ends the channel. Frames are `kind, u16 big-endian length, payload`.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedReadHalf;
use tokio::sync::mpsc;

use super::record::{MediaFormat, Record, RxPacket};
use super::rx_clock::StampedStream;
use super::{MediaEngine, RxShared};

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
    let (rd, mut wr) = stream.into_split();
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
    let rx = std::sync::Arc::clone(&engine.rx);
    let reader = tokio::spawn(async move {
        read_frames(&rd, rec, &rx).await;
        let _ = gone_tx.send(());
    });
    engine.add_task(id, writer.abort_handle());
    engine.add_task(id, reader.abort_handle());
    Ok((tx, gone_rx))
}

/// Reads the gateway's frames until `0x00` or the end of the stream. Each audio frame is timed
/// by the kernel's receive stamp of its header (see [`StampedStream`]), else by its read.
async fn read_frames(rd: &OwnedReadHalf, rec: Arc<Mutex<Record>>, rx: &RxShared) {
    let sock = rd.as_ref();
    let mut reader = StampedStream::new(sock);
    let mut head = [0u8; 3];
    loop {
        let Ok(stamp) = reader.read_exact(sock, &mut head).await else {
            return;
        };
        let len = usize::from(u16::from_be_bytes([head[1], head[2]]));
        let mut payload = vec![0u8; len];
        if reader.read_exact(sock, &mut payload).await.is_err() {
            return;
        }
        let read_ms = rx.base.elapsed().as_secs_f64() * 1000.0;
        match head[0] {
            0x00 => return,
            0x10 | 0x12 => {
                let at_ms = rx.framed(&rec, stamp, read_ms, len);
                if !rx.record_packets {
                    continue;
                }
                let keep = rx.record_payloads;
                rec.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .packets
                    .push(RxPacket {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::sync::atomic::Ordering::Relaxed;

    /// Frames the gateway wrote while the reader could not run (this current-thread runtime is
    /// held by the test) keep their own arrival times, as over RTP: each one's is before the
    /// next was written, though all are read after the last. Timed at the read, none could be.
    /// They count as one talkspurt of the caller's hearing.
    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn frames_are_timed_by_the_kernel_stamp_not_the_late_read() {
        let engine = MediaEngine::new(&crate::SimConfig::default(), tokio::time::Instant::now());
        let gateway = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = gateway.local_addr().unwrap();
        open(&engine, "ch", addr, [7; 16], MediaFormat::Slin16)
            .await
            .unwrap();
        let (mut conn, _) = gateway.accept().unwrap();
        conn.set_nodelay(true).unwrap();
        let mut uuid = [0u8; 19];
        conn.read_exact(&mut uuid).unwrap();
        let rec = engine.record("ch").unwrap();
        let got = || rec.lock().unwrap().packets.clone();
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
        let mut sent = 0;
        // Stamping starts a moment after the first socket asks (deferred kernel work): rounds
        // repeat until the stamps show.
        loop {
            let mut written_before = Vec::new();
            for _ in 0..3 {
                written_before.push(engine.now_ms());
                conn.write_all(&frame(0x12, &[1; 640])).unwrap();
                sent += 1;
                // Hold the thread (no await): the reader cannot run meanwhile.
                let t = engine.now_ms();
                while engine.now_ms() < t + 2.0 {
                    std::hint::spin_loop();
                }
            }
            let all_written = engine.now_ms();
            while got().len() < sent {
                assert!(tokio::time::Instant::now() < deadline, "frames not read");
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
            let last = got().split_off(sent - 3);
            let delay = engine.rx.pacing.read_delay.take();
            let stamped = delay.count() == 3;
            if stamped && last[0].at_ms < written_before[1] && last[1].at_ms < written_before[2] {
                assert!(
                    written_before[0] <= last[0].at_ms,
                    "{written_before:?} {last:?}"
                );
                assert!(
                    delay.max_ms() + 0.001 >= all_written - last[0].at_ms,
                    "{delay:?}"
                );
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "arrival follows the read, not the kernel: written {written_before:?}, got {last:?}"
            );
        }
        assert_eq!(engine.rx.packets.load(Relaxed), sent as u64);
        let summary = &rec.lock().unwrap().summary;
        assert_eq!((summary.packets, summary.lost), (sent as u64, 0));
        assert!(!summary.spurts.is_empty());
    }
}
