//! Unit tests with synthetic time: every instant is `t0 + offset`.

use std::time::{Duration, Instant};

use super::{Concealment, FrameKind, Insert, JitterBuffer, JitterConfig};
use crate::rtp::RtpHeader;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn hdr(seq: u16, ts: u32) -> RtpHeader {
    RtpHeader {
        marker: false,
        payload_type: 0,
        sequence: seq,
        timestamp: ts,
        ssrc: 7,
    }
}

/// Sequence `base + i` with timestamp `ts0 + 160·i`, payload `[i; 160]`.
fn put(jb: &mut JitterBuffer, at: Instant, i: u16) -> Insert {
    jb.insert(
        at,
        &hdr(1000u16.wrapping_add(i), 160 * u32::from(i)),
        &[i as u8; 160],
    )
}

#[derive(Debug, PartialEq)]
struct Out {
    seq: u16,
    kind: FrameKind,
    first_byte: Option<u8>,
    at: Instant,
    start: bool,
}

/// Wakes at every deadline up to `until`, collecting what comes out.
fn run(jb: &mut JitterBuffer, until: Instant) -> Vec<Out> {
    let mut out = Vec::new();
    while let Some(t) = jb.poll_timeout().filter(|t| *t <= until) {
        while let Some(f) = jb.pop(t) {
            assert_eq!(f.playout, t, "frames come out exactly at their deadline");
            out.push(Out {
                seq: f.sequence.wrapping_sub(1000),
                kind: f.kind,
                first_byte: f.payload.first().copied(),
                at: f.playout,
                start: f.talkspurt_start,
            });
        }
    }
    out
}

fn seqs(out: &[Out]) -> Vec<u16> {
    out.iter().map(|o| o.seq).collect()
}

#[test]
fn steady_stream_plays_after_the_target_delay() {
    let t0 = Instant::now();
    let mut jb = JitterBuffer::new(JitterConfig::default());
    for i in 0..10 {
        assert_eq!(
            put(&mut jb, t0 + ms(20) * u32::from(i), i),
            Insert::Buffered
        );
    }
    let out = run(&mut jb, t0 + ms(1000));
    assert_eq!(seqs(&out), (0..10).collect::<Vec<_>>());
    for (i, o) in out.iter().enumerate() {
        assert_eq!(o.at, t0 + ms(60) + ms(20) * i as u32);
        assert_eq!(o.kind, FrameKind::Audio);
        assert_eq!(o.first_byte, Some(i as u8));
        assert_eq!(o.start, i == 0);
    }
    let s = jb.stats();
    assert_eq!((s.received, s.lost, s.late, s.concealed), (10, 0, 0, 0));
    assert!(jb.is_empty());
    assert_eq!(jb.poll_timeout(), None);
}

#[test]
fn reorders_and_drops_duplicates() {
    let t0 = Instant::now();
    let mut jb = JitterBuffer::new(JitterConfig::default());
    for (k, i) in [0, 2, 1, 1, 3].into_iter().enumerate() {
        put(&mut jb, t0 + ms(10) * k as u32, i);
    }
    let out = run(&mut jb, t0 + ms(65));
    assert_eq!(seqs(&out), [0]);
    // A copy of a packet already played is a duplicate, not a late packet.
    assert_eq!(put(&mut jb, t0 + ms(66), 0), Insert::Duplicate);
    let out = run(&mut jb, t0 + ms(1000));
    assert_eq!(seqs(&out), [1, 2, 3]);
    let s = jb.stats();
    assert_eq!((s.reordered, s.duplicate, s.late, s.lost), (1, 2, 0, 0));
}

#[test]
fn reordered_first_packet_of_a_talkspurt_is_not_late() {
    let t0 = Instant::now();
    let mut jb = JitterBuffer::new(JitterConfig::default());
    put(&mut jb, t0, 1);
    put(&mut jb, t0 + ms(3), 0);
    put(&mut jb, t0 + ms(20), 2);
    let out = run(&mut jb, t0 + ms(1000));
    assert_eq!(seqs(&out), [0, 1, 2]);
    assert_eq!(jb.stats().late, 0);
}

#[test]
fn conceals_a_hole_between_packets() {
    for (mode, expect) in [
        (Concealment::Silence, None),
        (Concealment::RepeatLast, Some(1)),
    ] {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(JitterConfig {
            concealment: mode,
            ..JitterConfig::default()
        });
        for i in [0, 1, 3, 4] {
            put(&mut jb, t0 + ms(20) * u32::from(i), i);
        }
        let out = run(&mut jb, t0 + ms(1000));
        assert_eq!(seqs(&out), [0, 1, 2, 3, 4]);
        assert_eq!(out[2].kind, FrameKind::Concealed(mode));
        assert_eq!(out[2].first_byte, expect);
        assert_eq!(
            out[2].at,
            t0 + ms(100),
            "on the schedule of the missing frame"
        );
        let s = jb.stats();
        assert_eq!((s.lost, s.concealed, s.received), (1, 1, 4));
    }
}

#[test]
fn late_packet_is_dropped_and_grows_the_delay() {
    let t0 = Instant::now();
    let mut jb = JitterBuffer::new(JitterConfig::default());
    for i in [0, 1, 3, 4, 5] {
        put(&mut jb, t0 + ms(20) * u32::from(i), i);
    }
    run(&mut jb, t0 + ms(105));
    // Packet 2 was concealed at 100 ms; it shows up 30 ms after its slot.
    assert_eq!(put(&mut jb, t0 + ms(130), 2), Insert::Late);
    let s = jb.stats();
    assert_eq!((s.late, s.lost, s.concealed), (1, 1, 1));
    assert_eq!(s.delay, ms(90));
    let out = run(&mut jb, t0 + ms(1000));
    assert_eq!(seqs(&out), [3, 4, 5]);
    assert_eq!(out[0].at, t0 + ms(150));
}

#[test]
fn silence_is_not_loss() {
    let t0 = Instant::now();
    let mut jb = JitterBuffer::new(JitterConfig::default());
    for i in 0..5 {
        put(&mut jb, t0 + ms(20) * u32::from(i), i);
    }
    let out = run(&mut jb, t0 + ms(3000));
    assert_eq!(out.len(), 5);
    assert_eq!(jb.poll_timeout(), None, "idle through the silence");
    // Asterisk resumes 2 s later with the next sequence number; the timestamp
    // may or may not have jumped: neither is concealed.
    for (k, ts_jump) in [(0u32, 0u32), (1, 16_000)] {
        let t1 = t0 + ms(2000) * (k + 1);
        let seq = 1005 + 3 * k as u16;
        for j in 0..3u16 {
            let ts = 160 * (5 + 3 * k) + ts_jump + 160 * u32::from(j);
            jb.insert(t1 + ms(20) * u32::from(j), &hdr(seq + j, ts), &[9; 160]);
        }
        let out = run(&mut jb, t1 + ms(1000));
        assert_eq!(out.len(), 3);
        assert!(out.iter().all(|o| o.kind == FrameKind::Audio));
        assert!(out[0].start);
        assert_eq!(out[0].at, t1 + ms(60), "re-anchored on the first packet");
    }
    let s = jb.stats();
    assert_eq!((s.lost, s.concealed, s.late, s.talkspurts), (0, 0, 0, 3));
}

#[test]
fn marker_bit_re_anchors_inside_the_buffer() {
    let t0 = Instant::now();
    let mut jb = JitterBuffer::new(JitterConfig::default());
    put(&mut jb, t0, 0);
    put(&mut jb, t0 + ms(20), 1);
    // Next talkspurt's first packet, 30 ms later, timestamp far ahead.
    let mut h = hdr(1002, 80_000);
    h.marker = true;
    jb.insert(t0 + ms(50), &h, &[2; 160]);
    let out = run(&mut jb, t0 + ms(1000));
    assert_eq!(seqs(&out), [0, 1, 2]);
    assert_eq!(out[2].at, t0 + ms(110), "its arrival plus the delay");
    assert!(out[2].start);
    assert_eq!(jb.stats().talkspurts, 2);
}

#[test]
fn ssrc_change_resets_the_stream() {
    let t0 = Instant::now();
    let mut jb = JitterBuffer::new(JitterConfig::default());
    put(&mut jb, t0, 0);
    put(&mut jb, t0 + ms(20), 1);
    let other = RtpHeader {
        ssrc: 8,
        ..hdr(40_000, 999)
    };
    jb.insert(t0 + ms(30), &other, &[7; 160]);
    let out = run(&mut jb, t0 + ms(1000));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].seq, 40_000u16.wrapping_sub(1000));
    assert_eq!(jb.stats().ssrc_changes, 1);
}

#[test]
fn long_hole_conceals_a_few_frames_then_skips() {
    let t0 = Instant::now();
    let mut jb = JitterBuffer::new(JitterConfig::default());
    put(&mut jb, t0, 0);
    put(&mut jb, t0 + ms(200), 10);
    let out = run(&mut jb, t0 + ms(1000));
    assert_eq!(seqs(&out), [0, 1, 2, 3, 10]);
    let s = jb.stats();
    assert_eq!((s.lost, s.concealed), (9, 3));
    assert_eq!(out[4].at, t0 + ms(260));
}

#[test]
fn wraps_sequence_and_timestamp() {
    let t0 = Instant::now();
    let mut jb = JitterBuffer::new(JitterConfig::default());
    for i in 0..6u16 {
        let h = hdr(
            65533u16.wrapping_add(i),
            (u32::MAX - 300).wrapping_add(160 * u32::from(i)),
        );
        jb.insert(t0 + ms(20) * u32::from(i), &h, &[0; 160]);
    }
    let out = run(&mut jb, t0 + ms(1000));
    assert_eq!(out.len(), 6);
    assert_eq!(jb.stats().lost, 0);
}

#[test]
fn rejects_oversized_payload() {
    let t0 = Instant::now();
    let mut jb = JitterBuffer::new(JitterConfig {
        max_payload: 160,
        ..JitterConfig::default()
    });
    assert_eq!(jb.insert(t0, &hdr(1, 1), &[0; 161]), Insert::TooLarge);
    assert_eq!(jb.stats().oversized, 1);
    assert!(jb.is_empty());
}

#[test]
fn jittery_network_raises_the_next_talkspurts_delay_up_to_the_cap() {
    let t0 = Instant::now();
    let mut jb = JitterBuffer::new(JitterConfig::default());
    let mut at = t0;
    for i in 0..200u16 {
        // Alternating 0 / 40 ms gaps: |D| = 20 ms per packet.
        at += ms(if i % 2 == 0 { 0 } else { 40 });
        put(&mut jb, at, i);
        run(&mut jb, at);
    }
    let j = jb.stats().jitter;
    assert!(j >= ms(19) && j <= ms(20), "jitter {j:?}");
    run(&mut jb, at + ms(1000));
    put(&mut jb, at + ms(3000), 200);
    assert_eq!(jb.stats().delay, j * 4);
    let mut jb = JitterBuffer::new(JitterConfig {
        max_delay: ms(70),
        ..JitterConfig::default()
    });
    let mut at = t0;
    for i in 0..200u16 {
        at += ms(if i % 2 == 0 { 0 } else { 40 });
        put(&mut jb, at, i);
    }
    run(&mut jb, at + ms(1000));
    put(&mut jb, at + ms(3000), 200);
    assert_eq!(jb.stats().delay, ms(70));
}

#[test]
fn steady_state_does_not_allocate() {
    let t0 = Instant::now();
    let mut jb = JitterBuffer::new(JitterConfig {
        concealment: Concealment::RepeatLast,
        ..JitterConfig::default()
    });
    let mut played = 0;
    let info = allocation_counter::measure(|| {
        for i in 0..500u16 {
            let now = t0 + ms(20) * u32::from(i);
            // Every 7th packet lost, every 5th a duplicate: all paths run.
            if i % 7 != 3 {
                put(&mut jb, now, i);
            }
            if i % 5 == 0 {
                put(&mut jb, now, i);
            }
            while let Some(f) = jb.pop(now) {
                played += f.payload.len();
            }
        }
    });
    assert_eq!(info.count_total, 0);
    assert!(played > 0 && jb.stats().concealed > 0);
}

/// Packets arrive at `arrivals[i]` and the buffer is driven as the media leg
/// drives it (insert, then every frame due before the next arrival).
fn live(jb: &mut JitterBuffer, arrivals: &[Instant]) -> Vec<Out> {
    let mut out = Vec::new();
    for (i, at) in arrivals.iter().enumerate() {
        assert_eq!(put(jb, *at, i as u16), Insert::Buffered, "packet {i}");
        let next = arrivals.get(i + 1).copied().unwrap_or(*at + ms(1000));
        while let Some(t) = jb.poll_timeout().filter(|t| *t < next) {
            while let Some(f) = jb.pop(t) {
                out.push(Out {
                    seq: f.sequence.wrapping_sub(1000),
                    kind: f.kind,
                    first_byte: f.payload.first().copied(),
                    at: f.playout,
                    start: f.talkspurt_start,
                });
            }
        }
    }
    out
}

#[test]
fn with_no_floor_a_calm_stream_plays_on_arrival_and_jitter_raises_the_delay() {
    let config = JitterConfig {
        target_delay: Duration::ZERO,
        ..JitterConfig::default()
    };
    // Loopback: packets 20 ms apart to the microsecond play as they arrive.
    let t0 = Instant::now();
    let mut jb = JitterBuffer::new(config);
    let calm: Vec<Instant> = (0..100).map(|i| t0 + ms(20) * i).collect();
    let out = live(&mut jb, &calm);
    assert_eq!(seqs(&out), (0..100).collect::<Vec<_>>());
    assert!(
        out.iter().zip(&calm).all(|(o, at)| o.at == *at),
        "no delay added"
    );
    assert_eq!((jb.stats().lost, jb.stats().late), (0, 0));

    // 5 ms of jitter (arrivals alternately 15 and 25 ms apart): the jitter
    // is measured, nothing is lost or concealed, and no frame waits longer
    // than the jitter makes it (the early half waits for its slot).
    let mut jb = JitterBuffer::new(config);
    let mut at = t0;
    let jittery: Vec<Instant> = (0..400u32)
        .map(|i| {
            at += ms(if i % 2 == 0 { 15 } else { 25 });
            at
        })
        .collect();
    let out = live(&mut jb, &jittery);
    assert_eq!(seqs(&out), (0..400).collect::<Vec<_>>());
    assert!(out.iter().all(|o| o.kind == FrameKind::Audio));
    assert_eq!((jb.stats().lost, jb.stats().late), (0, 0));
    let waited = out
        .iter()
        .map(|o| o.at - jittery[usize::from(o.seq)])
        .max()
        .unwrap();
    assert!(waited <= ms(10), "a frame waited {waited:?}");
    assert!((ms(4)..=ms(6)).contains(&jb.stats().jitter));
}
