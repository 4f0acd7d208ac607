//! Replays the packet arrivals recorded from Asterisk 20.20.1 (fixtures
//! `11-rtp-arrivals.csv` and `11-rtp-burst-relay-arrivals.csv`) through the
//! jitter buffer, at their recorded times.

use std::time::{Duration, Instant};

use super::{FrameKind, JitterBuffer, JitterConfig, JitterStats};
use crate::rtp::RtpHeader;

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/ari-fixtures/"
);

struct Arrival {
    phase: String,
    at: Duration,
    header: RtpHeader,
    len: usize,
}

fn load(name: &str) -> Vec<Arrival> {
    let path = format!("{FIXTURES}{name}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some(
            "phase,t_ms,seq,timestamp,marker,ssrc,payload_type,payload_len,src,payload_first4_hex"
        )
    );
    lines
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            Arrival {
                phase: f[0].to_owned(),
                at: Duration::from_secs_f64(f[1].parse::<f64>().unwrap() / 1000.0),
                header: RtpHeader {
                    marker: f[4] == "1",
                    payload_type: f[6].parse().unwrap(),
                    sequence: f[2].parse().unwrap(),
                    timestamp: f[3].parse().unwrap(),
                    ssrc: u32::from_str_radix(f[5].trim_start_matches("0x"), 16).unwrap(),
                },
                len: f[7].parse().unwrap(),
            }
        })
        .collect()
}

/// Feeds `arrivals` at their times, draining every deadline in between.
/// Returns the stats and the sequence numbers played per SSRC, in order.
fn replay(arrivals: &[Arrival]) -> (JitterStats, Vec<(u32, u16)>, usize) {
    let t0 = Instant::now();
    let mut jb = JitterBuffer::new(JitterConfig::default());
    let mut played = Vec::new();
    let mut concealed = 0;
    let mut drain = |jb: &mut JitterBuffer, until: Instant, ssrc: u32| {
        while let Some(t) = jb.poll_timeout().filter(|t| *t <= until) {
            while let Some(f) = jb.pop(t) {
                match f.kind {
                    FrameKind::Audio => played.push((ssrc, f.sequence)),
                    FrameKind::Concealed(_) => concealed += 1,
                }
            }
        }
    };
    let payload = [0xffu8; 160];
    let mut ssrc = 0;
    for a in arrivals {
        drain(&mut jb, t0 + a.at, ssrc);
        ssrc = a.header.ssrc;
        jb.insert(t0 + a.at, &a.header, &payload[..a.len]);
        assert!(jb.stats().depth <= Duration::from_millis(640));
    }
    let end = t0 + arrivals.last().unwrap().at + Duration::from_secs(5);
    drain(&mut jb, end, ssrc);
    assert!(
        jb.is_empty() && jb.poll_timeout().is_none(),
        "idle once drained"
    );
    (jb.stats(), played, concealed)
}

fn in_order_and_complete(arrivals: &[Arrival], played: &[(u32, u16)]) {
    let sent: Vec<(u32, u16)> = arrivals
        .iter()
        .map(|a| (a.header.ssrc, a.header.sequence))
        .collect();
    assert_eq!(played, &sent[..]);
}

#[test]
fn asterisk_talkspurt_then_silence_and_softmix_stream() {
    let arrivals = load("11-rtp-arrivals.csv");
    assert_eq!(
        arrivals
            .iter()
            .filter(|a| a.phase.starts_with("A-"))
            .count(),
        70
    );
    let (stats, played, concealed) = replay(&arrivals);
    in_order_and_complete(&arrivals, &played);
    assert_eq!(stats.received, 571);
    assert_eq!(
        (stats.lost, stats.late, stats.concealed, concealed),
        (0, 0, 0, 0)
    );
    assert_eq!((stats.duplicate, stats.reordered), (0, 0));
    // Phase A ends in 8.6 s of silence: the buffer went idle instead of
    // concealing; phase B is another channel.
    assert_eq!(stats.ssrc_changes, 1);
    assert_eq!(stats.talkspurts, 2);
    // Asterisk's arrivals vary by ±3 ms: the delay never needed to grow.
    assert_eq!(stats.delay, Duration::from_millis(60));
    assert!(
        stats.jitter < Duration::from_millis(2),
        "jitter {:?}",
        stats.jitter
    );
}

#[test]
fn asterisk_relayed_bursts_play_without_loss() {
    let arrivals = load("11-rtp-burst-relay-arrivals.csv");
    let (bursty, repaced): (Vec<_>, Vec<_>) = arrivals
        .into_iter()
        .partition(|a| a.phase.starts_with("I-"));
    assert_eq!((bursty.len(), repaced.len()), (200, 200));
    // 10 packets every 200 ms carry 200 ms of audio each: anchored on the first
    // packet of a burst, every later one arrives before its time.
    let (stats, played, _) = replay(&bursty);
    in_order_and_complete(&bursty, &played);
    assert_eq!(
        (stats.received, stats.lost, stats.late, stats.concealed),
        (200, 0, 0, 0)
    );
    // The estimator saw the bursts even though nothing was late.
    assert!(
        stats.jitter > Duration::from_millis(20),
        "jitter {:?}",
        stats.jitter
    );
    // Re-paced by JITTERBUFFER(fixed)=200 on the sending channel: a calm stream.
    let (stats, played, _) = replay(&repaced);
    in_order_and_complete(&repaced, &played);
    assert_eq!(
        (stats.received, stats.lost, stats.late, stats.concealed),
        (200, 0, 0, 0)
    );
    assert!(
        stats.jitter < Duration::from_millis(5),
        "jitter {:?}",
        stats.jitter
    );
}
