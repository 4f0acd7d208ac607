//! Property tests: a simulated sender (talkspurts separated by silences in
//! which nothing is sent, as Asterisk does, and SSRC changes) behind a
//! simulated network that loses, duplicates, delays, reorders and bursts.

use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::{FrameKind, JitterBuffer, JitterConfig, Release};
use crate::rtp::{RtpHeader, seq_diff};

#[derive(Debug, Clone)]
struct Spurt {
    packets: u16,
    silence_ms: u64,
    ts_follows_clock: bool,
    new_ssrc: bool,
}

fn spurt(max_silence: u64, ssrc_changes: bool) -> impl Strategy<Value = Spurt> {
    (
        1u16..60,
        200..max_silence,
        any::<bool>(),
        prop::bool::weighted(if ssrc_changes { 0.2 } else { 0.0 }),
    )
        .prop_map(|(packets, silence_ms, ts_follows_clock, new_ssrc)| Spurt {
            packets,
            silence_ms,
            ts_follows_clock,
            new_ssrc,
        })
}

#[derive(Debug, Clone)]
struct Net {
    loss: f64,
    dup: f64,
    /// Per-packet extra delay in ms, cycled.
    delays: Vec<u64>,
    /// Hold packets and release them together every this many ms (0: no bursts).
    burst_ms: u64,
    /// Driver wake-up lateness in ms, cycled.
    lateness: Vec<u64>,
}

struct Sent {
    at: Duration,
    header: RtpHeader,
}

/// Sender timeline: 20 ms packets, nothing during silences.
fn send(spurts: &[Spurt], seq0: u16, ts0: u32) -> Vec<Sent> {
    let (mut at, mut seq, mut ts, mut ssrc) = (Duration::ZERO, seq0, ts0, 1u32);
    let mut out = Vec::new();
    for s in spurts {
        if s.new_ssrc {
            ssrc += 1;
        }
        for _ in 0..s.packets {
            out.push(Sent {
                at,
                header: RtpHeader {
                    marker: false,
                    payload_type: 0,
                    sequence: seq,
                    timestamp: ts,
                    ssrc,
                },
            });
            at += Duration::from_millis(20);
            seq = seq.wrapping_add(1);
            ts = ts.wrapping_add(160);
        }
        at += Duration::from_millis(s.silence_ms);
        if s.ts_follows_clock {
            ts = ts.wrapping_add(s.silence_ms as u32 * 8);
        }
    }
    out
}

/// Arrival timeline after the network, sorted by arrival time.
fn network(sent: &[Sent], net: &Net, seed: u64) -> Vec<(Duration, RtpHeader)> {
    let mut rng = seed;
    let mut coin = move |p: f64| {
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((rng >> 11) as f64 / (1u64 << 53) as f64) < p
    };
    let mut out = Vec::new();
    for (i, s) in sent.iter().enumerate() {
        if coin(net.loss) {
            continue;
        }
        let mut at = s.at + Duration::from_millis(net.delays[i % net.delays.len()]);
        if net.burst_ms > 0 {
            let b = Duration::from_millis(net.burst_ms).as_nanos();
            at = Duration::from_nanos(u64::try_from(at.as_nanos().div_ceil(b) * b).unwrap());
        }
        out.push((at, s.header));
        if coin(net.dup) {
            out.push((
                at + Duration::from_millis(net.delays[(i + 1) % net.delays.len()]),
                s.header,
            ));
        }
    }
    out.sort_by_key(|(at, _)| *at);
    out
}

#[derive(Default)]
struct Played {
    /// (stream epoch, seq, kind, playout)
    frames: Vec<(u32, u16, FrameKind, Instant)>,
}

fn drive(
    arrivals: &[(Duration, RtpHeader)],
    lateness: &[u64],
    release: Release,
) -> Result<(JitterBuffer, Played), TestCaseError> {
    let t0 = Instant::now();
    let mut jb = JitterBuffer::new(JitterConfig {
        release,
        ..JitterConfig::default()
    });
    let cap = jb.config().capacity;
    let mut played = Played::default();
    let mut wake = 0usize;
    // (ssrc, epoch): a stream may come back after another; order holds per run.
    let mut stream = (0u32, 0u32);
    let mut now = t0;
    let end = arrivals.last().map_or(t0, |a| t0 + a.0) + Duration::from_secs(10);
    let mut next = 0;
    loop {
        let arrival = arrivals.get(next).map(|a| t0 + a.0);
        let deadline = jb.poll_timeout().map(|d| {
            wake += 1;
            d + Duration::from_millis(lateness[wake % lateness.len()])
        });
        let t = match (arrival, deadline) {
            (Some(a), Some(d)) => a.min(d),
            (Some(a), None) => a,
            (None, Some(d)) => d,
            (None, None) => break,
        };
        prop_assert!(t <= end, "runs dry after the last arrival");
        now = now.max(t);
        if let Some(s) = jb.ssrc().filter(|s| *s != stream.0) {
            stream = (s, stream.1 + 1);
        }
        while let Some(f) = jb.pop(now) {
            prop_assert!(f.playout <= now);
            if let FrameKind::Audio = f.kind {
                // Payload is what was sent for this sequence number.
                prop_assert_eq!(f.payload, &f.sequence.to_be_bytes()[..]);
            }
            played
                .frames
                .push((stream.1, f.sequence, f.kind, f.playout));
            if let FrameKind::Concealed(_) = f.kind {
                prop_assert!(!jb.is_empty(), "concealed only between held packets");
            }
        }
        if arrival == Some(t) {
            let h = arrivals[next].1;
            jb.insert(now, &h, &h.sequence.to_be_bytes());
            next += 1;
        }
        prop_assert!(jb.len() <= cap);
    }
    Ok((jb, played))
}

/// In order, each once; paced frames 20 ms apart or more, frames released
/// in order never stamped before the one before.
fn check_order(played: &Played, release: Release) -> Result<(), TestCaseError> {
    let gap = match release {
        Release::OnTime => Duration::from_millis(20),
        Release::InOrder => Duration::ZERO,
    };
    for w in played.frames.windows(2) {
        let ((s0, q0, _, t0), (s1, q1, _, t1)) = (w[0], w[1]);
        prop_assert!(t1 >= t0 + gap, "frames {:?} apart or more", gap);
        if s0 == s1 {
            prop_assert!(
                seq_diff(q1, q0) > 0,
                "in order, each once: {} then {}",
                q0,
                q1
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Anything the network does: no panic, in order, bounded, no
    /// concealment in silence.
    #[test]
    fn hostile_network(
        spurts in prop::collection::vec(spurt(5000, true), 1..12),
        seq0 in any::<u16>(),
        ts0 in any::<u32>(),
        loss in 0.0..0.4f64,
        dup in 0.0..0.3f64,
        delays in prop::collection::vec(0u64..400, 1..50),
        burst_ms in prop_oneof![Just(0u64), 1u64..400],
        lateness in prop::collection::vec(prop_oneof![3 => Just(0u64), 1 => 0u64..50], 1..20),
        seed in any::<u64>(),
        release in prop_oneof![Just(Release::OnTime), Just(Release::InOrder)],
    ) {
        let sent = send(&spurts, seq0, ts0);
        let net = Net { loss, dup, delays, burst_ms, lateness };
        let arrivals = network(&sent, &net, seed);
        let (jb, played) = drive(&arrivals, &net.lateness, release)?;
        check_order(&played, release)?;
        let s = jb.stats();
        let audio = played.frames.iter().filter(|f| f.2 == FrameKind::Audio).count() as u64;
        prop_assert!(audio <= s.received);
        prop_assert_eq!(s.concealed, played.frames.len() as u64 - audio);
        prop_assert!(s.concealed <= s.lost);
        prop_assert!(jb.is_empty());
    }

    /// Jitter within the 60 ms delay, no loss, silences between talkspurts:
    /// everything plays exactly once, nothing is concealed or late.
    #[test]
    fn calm_network_loses_nothing(
        spurts in prop::collection::vec(spurt(3000, false), 1..12),
        seq0 in any::<u16>(),
        ts0 in any::<u32>(),
        dup in 0.0..0.3f64,
        delays in prop::collection::vec(0u64..50, 1..50),
        seed in any::<u64>(),
    ) {
        let sent = send(&spurts, seq0, ts0);
        let net = Net { loss: 0.0, dup, delays, burst_ms: 0, lateness: vec![0] };
        let arrivals = network(&sent, &net, seed);
        let (jb, played) = drive(&arrivals, &net.lateness, Release::OnTime)?;
        check_order(&played, Release::OnTime)?;
        let s = jb.stats();
        prop_assert_eq!((s.lost, s.late, s.concealed), (0, 0, 0));
        prop_assert_eq!(s.received, sent.len() as u64);
        prop_assert_eq!(played.frames.len(), sent.len());
        prop_assert_eq!(s.duplicate, arrivals.len() as u64 - sent.len() as u64);
    }

    /// Released in order, with the sender stalling and bursting and one
    /// path of varying delay but nothing lost or reordered: every frame comes
    /// out the moment it arrives, whatever lag the paced policy would build.
    #[test]
    fn in_order_release_adds_no_lag(
        spurts in prop::collection::vec(spurt(3000, false), 1..8),
        seq0 in any::<u16>(),
        ts0 in any::<u32>(),
        burst_ms in prop_oneof![Just(0u64), 1u64..400],
        step in 0u64..300,
    ) {
        let sent = send(&spurts, seq0, ts0);
        // The path's delay rises by `step` for 20 packets, then falls: a
        // stall, then a burst. Nothing overtakes (arrivals keep send order).
        let mut arrivals: Vec<(Duration, RtpHeader)> = Vec::with_capacity(sent.len());
        for (i, p) in sent.iter().enumerate() {
            let mut at = p.at + Duration::from_millis(if i % 40 < 20 { step } else { 0 });
            if burst_ms > 0 {
                let b = Duration::from_millis(burst_ms).as_nanos();
                at = Duration::from_nanos(u64::try_from(at.as_nanos().div_ceil(b) * b).unwrap());
            }
            let at = arrivals.last().map_or(at, |last| at.max(last.0));
            arrivals.push((at, p.header));
        }
        let t0 = Instant::now();
        let (jb, played) = drive(&arrivals, &[0], Release::InOrder)?;
        check_order(&played, Release::InOrder)?;
        let s = jb.stats();
        prop_assert_eq!((s.lost, s.concealed), (0, 0));
        prop_assert_eq!(played.frames.len(), sent.len());
        for (f, a) in played.frames.iter().zip(&arrivals) {
            prop_assert_eq!(f.1, a.1.sequence);
            let lag = f.3.saturating_duration_since(t0).saturating_sub(a.0);
            prop_assert!(lag < Duration::from_millis(1), "frame {} held {:?}", f.1, lag);
        }
    }
}
