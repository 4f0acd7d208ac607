//! RTP packets (RFC 3550) as Asterisk's UnicastRTP sends and receives them.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::UdpSocket;

use super::MediaEngine;
use super::record::{MediaFormat, Record, RxPacket};
use super::rx_clock::StampedReader;
use super::stats::RxPoint;
use std::sync::atomic::Ordering::Relaxed;

/// Writes a 12-byte RTP header.
pub(crate) fn header(out: &mut Vec<u8>, marker: bool, pt: u8, seq: u16, ts: u32, ssrc: u32) {
    out.push(0x80);
    out.push(if marker { 0x80 } else { 0 } | (pt & 0x7f));
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&ts.to_be_bytes());
    out.extend_from_slice(&ssrc.to_be_bytes());
}

/// (marker, pt, seq, ts, ssrc, payload) of one packet.
pub(crate) type Parsed<'a> = (bool, u8, u16, u32, u32, &'a [u8]);

/// Parses an RTP packet. None if it is not RTP v2.
pub(crate) fn parse(buf: &[u8]) -> Option<Parsed<'_>> {
    if buf.len() < 12 || buf[0] >> 6 != 2 {
        return None;
    }
    let cc = usize::from(buf[0] & 0x0f);
    let mut off = 12 + 4 * cc;
    if buf[0] & 0x10 != 0 {
        let ext = buf.get(off + 2..off + 4)?;
        off += 4 + 4 * usize::from(u16::from_be_bytes([ext[0], ext[1]]));
    }
    let mut end = buf.len();
    if buf[0] & 0x20 != 0 {
        end = end.checked_sub(usize::from(*buf.last()?))?;
    }
    let payload = buf.get(off..end)?;
    let seq = u16::from_be_bytes([buf[2], buf[3]]);
    let ts = u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]);
    let ssrc = u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]);
    Some((buf[1] & 0x80 != 0, buf[1] & 0x7f, seq, ts, ssrc, payload))
}

/// Receives what the gateway sends to a UnicastRTP channel and records it.
pub(crate) async fn receive(
    sock: Arc<UdpSocket>,
    rec: Arc<Mutex<Record>>,
    engine: Arc<super::RxShared>,
) {
    let mut reader = StampedReader::new(&sock, 2048);
    loop {
        let Ok((buf, stamp)) = reader.recv(&sock).await else {
            return;
        };
        let read_ms = engine.base.elapsed().as_secs_f64() * 1000.0;
        let Some((marker, pt, seq, ts, ssrc, payload)) = parse(buf) else {
            continue;
        };
        let l = engine.faults.lock().map(|f| f.loss).unwrap_or(0.0);
        if l > 0.0 && fastrand::f64() < l {
            continue;
        }
        // Arrival is the kernel's stamp: what the gateway sent, without this task's own
        // wake-up delay (which `read_delay` keeps apart).
        let at_ms = engine.arrival(stamp, read_ms);
        let mut r = rec.lock().unwrap_or_else(|e| e.into_inner());
        // A dynamic PT has no rx mapping on a UnicastRTP channel: Asterisk drops slin16 (118)
        // from us, and anything not matching the channel's format is not passed on (fixture 14).
        let forwarded = pt == r.format.payload_type() && r.format != MediaFormat::Slin16;
        let point = RxPoint {
            at_ms,
            read_ms,
            seq,
            ts,
            marker,
            rate: r.format.rate(),
        };
        let lost = r.summary.packet(point, &engine.pacing);
        engine.packets.fetch_add(1, Relaxed);
        engine.lost.fetch_add(lost, Relaxed);
        if !engine.record_packets {
            continue;
        }
        r.packets.push(RxPacket {
            at_ms,
            seq,
            ts,
            marker,
            pt,
            ssrc,
            payload: if engine.record_payloads {
                payload.to_vec()
            } else {
                Vec::new()
            },
            forwarded,
        });
    }
}

/// Opens the local UDP socket of a UnicastRTP channel and starts its receiver.
pub(crate) async fn open(
    engine: &MediaEngine,
    id: &str,
    dest: SocketAddr,
    format: MediaFormat,
) -> std::io::Result<SocketAddr> {
    let sock = Arc::new(UdpSocket::bind("127.0.0.1:0").await?);
    let local = sock.local_addr()?;
    let rec = engine.add(
        id,
        super::Sink::Udp {
            sock: Arc::clone(&sock),
            dest,
        },
        format,
        false,
    );
    let task = tokio::spawn(receive(sock, rec, Arc::clone(&engine.rx)));
    engine.add_task(id, task.abort_handle());
    Ok(local)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip() {
        let mut b = Vec::new();
        header(&mut b, true, 8, 65_535, 160, 0xdead_beef);
        b.extend_from_slice(&[1, 2, 3]);
        assert_eq!(
            parse(&b),
            Some((true, 8, 65_535, 160, 0xdead_beef, &[1u8, 2, 3][..]))
        );
        assert_eq!(parse(&b[..5]), None);
    }

    /// Packets sent while the receive task cannot run (this current-thread runtime is held
    /// by the test) keep their own arrival times: each one's is before the next was sent,
    /// though all are read after the last. Timed at the read, none could be.
    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn arrival_is_the_kernel_stamp_not_the_late_read() {
        let engine = MediaEngine::new(&crate::SimConfig::default(), tokio::time::Instant::now());
        let peer = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = open(&engine, "ch", peer.local_addr().unwrap(), MediaFormat::Ulaw)
            .await
            .unwrap();
        let rx = Arc::clone(&engine.rx);
        let received = || engine.record("ch").unwrap().lock().unwrap().packets.clone();
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
        let mut seq = 0u16;
        // The kernel turns stamping on for the first socket asking a moment later (deferred
        // work); until then it stamps at the read. Rounds repeat until the stamps show.
        loop {
            let mut sent_before = Vec::new();
            for _ in 0..3 {
                sent_before.push(engine.now_ms());
                let mut pkt = Vec::new();
                header(&mut pkt, false, 0, seq, u32::from(seq) * 160, 7);
                pkt.extend_from_slice(&[0xff; 160]);
                peer.send_to(&pkt, to).unwrap();
                seq += 1;
                // Hold the thread (no await): the receive task cannot read meanwhile.
                let t = engine.now_ms();
                while engine.now_ms() < t + 2.0 {
                    std::hint::spin_loop();
                }
            }
            let all_sent = engine.now_ms();
            while received().len() < usize::from(seq) {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "packets not received"
                );
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
            let got = received().split_off(usize::from(seq) - 3);
            assert_eq!(
                rx.stamped.load(Relaxed),
                u64::from(seq),
                "every packet had a kernel stamp"
            );
            let delay = rx.pacing.read_delay.take();
            assert_eq!(delay.count(), 3);
            // The first packet was read after the last was sent, and its delay says so.
            assert!(
                delay.max_ms() + 0.001 >= all_sent - got[0].at_ms,
                "{delay:?}"
            );
            if got[0].at_ms < sent_before[1] && got[1].at_ms < sent_before[2] {
                assert!(sent_before[0] <= got[0].at_ms, "{sent_before:?} {got:?}");
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "arrival follows the read, not the kernel: sent {sent_before:?}, got {got:?}"
            );
        }
    }
}
