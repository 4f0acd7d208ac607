//! Unit tests with synthetic time: every instant is `t0 + offset`.

use std::time::{Duration, Instant};

use super::{FRAME_DURATION, Pacer, PacerConfig, PushError, SlotGrid};
use crate::rtp::RtpHeader;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn pacer() -> Pacer {
    Pacer::new(PacerConfig {
        ssrc: 0x1234,
        initial_sequence: 65534,
        initial_timestamp: u32::MAX - 100,
        ..PacerConfig::default()
    })
}

/// Sends everything due at `now`: (header, due, late, first payload byte).
fn drain(p: &mut Pacer, now: Instant) -> Vec<(RtpHeader, Instant, bool, u8)> {
    p.handle_timeout(now);
    let mut out = Vec::new();
    while let Some(pkt) = p.poll_output() {
        out.push((pkt.header, pkt.due, pkt.late, pkt.payload[0]));
    }
    out
}

/// Wakes exactly at each deadline until idle or `until`.
fn run_until(p: &mut Pacer, until: Instant) -> Vec<(RtpHeader, Instant, bool, u8)> {
    let mut out = Vec::new();
    while let Some(t) = p.poll_timeout().filter(|t| *t <= until) {
        out.extend(drain(p, t));
    }
    out
}

#[test]
fn burst_goes_out_one_per_20ms_with_wrapping_numbers() {
    let t0 = Instant::now();
    let mut p = pacer();
    for i in 0..10u8 {
        p.push(t0, &[i; 160]).unwrap();
    }
    assert_eq!(p.queued(), ms(200));
    assert_eq!(p.poll_timeout(), Some(t0));
    let sent = run_until(&mut p, t0 + ms(1000));
    assert_eq!(sent.len(), 10);
    for (n, (h, due, late, byte)) in sent.iter().enumerate() {
        assert_eq!(*due, t0 + FRAME_DURATION * n as u32);
        assert_eq!(h.sequence, 65534u16.wrapping_add(n as u16));
        assert_eq!(h.timestamp, (u32::MAX - 100).wrapping_add(160 * n as u32));
        assert_eq!(h.marker, n == 0);
        assert_eq!((h.ssrc, h.payload_type), (0x1234, 0));
        assert!(!late);
        assert_eq!(*byte, n as u8);
    }
    assert_eq!(p.poll_timeout(), None);
    assert_eq!(p.stats().sent, 10);
    assert_eq!(p.stats().talkspurts, 1);
}

#[test]
fn late_poll_catches_up_without_drift() {
    let t0 = Instant::now();
    let mut p = pacer();
    for i in 0..10u8 {
        p.push(t0, &[i]).unwrap();
    }
    // Woken 65 ms late: slots 0, 20, 40 and 60 ms are due now.
    let sent = drain(&mut p, t0 + ms(65));
    assert_eq!(sent.len(), 4);
    let late: Vec<bool> = sent.iter().map(|s| s.2).collect();
    // 65-60 = 5 ms is within the tolerance; the others are late.
    assert_eq!(late, [true, true, true, false]);
    assert_eq!(p.stats().late_sends, 3);
    // The schedule did not move: next slot is start + 4·20 ms, not 65 + 20 ms.
    assert_eq!(p.poll_timeout(), Some(t0 + ms(80)));
}

#[test]
fn slow_producer_counts_underrun_and_skips_slots() {
    let t0 = Instant::now();
    let mut p = pacer();
    p.push(t0, &[0]).unwrap();
    assert_eq!(drain(&mut p, t0).len(), 1);
    // Frame 1 arrives 3 ms after its slot: within tolerance, takes that slot.
    p.push(t0 + ms(23), &[1]).unwrap();
    let s = drain(&mut p, t0 + ms(23));
    assert_eq!(s[0].1, t0 + ms(20));
    assert_eq!(p.stats().underruns, 0);
    // Frame 2 arrives at 50 ms: slot 40 went out empty; next slot is 60.
    p.push(t0 + ms(50), &[2]).unwrap();
    assert_eq!(p.stats().underruns, 1);
    assert_eq!(p.poll_timeout(), Some(t0 + ms(60)));
    let s = drain(&mut p, t0 + ms(60));
    let (h, ..) = s[0];
    assert!(!h.marker, "a short underrun continues the talkspurt");
    assert_eq!(h.sequence, 65534u16.wrapping_add(2), "sequence has no hole");
    assert_eq!(
        h.timestamp,
        (u32::MAX - 100).wrapping_add(3 * 160),
        "timestamp follows the clock"
    );
}

#[test]
fn long_stall_starts_a_new_talkspurt() {
    let t0 = Instant::now();
    let mut p = pacer();
    p.push(t0, &[0]).unwrap();
    drain(&mut p, t0);
    p.push(t0 + ms(500), &[1]).unwrap();
    assert_eq!(p.stats().underruns, 1);
    let s = drain(&mut p, t0 + ms(500));
    assert!(s[0].0.marker);
    assert_eq!(s[0].1, t0 + ms(500));
    assert_eq!(s[0].0.timestamp, (u32::MAX - 100).wrapping_add(4000));
}

#[test]
fn silence_between_talkspurts_keeps_numbers_continuous() {
    let t0 = Instant::now();
    let mut p = pacer();
    p.push(t0, &[0]).unwrap();
    p.push(t0, &[1]).unwrap();
    p.end_talkspurt();
    assert_eq!(run_until(&mut p, t0 + ms(100)).len(), 2);
    assert!(p.is_idle());
    // 1.234 s of silence after the last slot (20 ms), not an underrun.
    let t1 = t0 + ms(20) + ms(1234);
    p.push(t1, &[2]).unwrap();
    let s = drain(&mut p, t1);
    assert_eq!(p.stats().underruns, 0);
    assert!(s[0].0.marker);
    assert_eq!(s[0].0.sequence, 65534u16.wrapping_add(2));
    assert_eq!(
        s[0].0.timestamp,
        (u32::MAX - 100).wrapping_add(160 + 1234 * 8)
    );
    assert_eq!(p.stats().talkspurts, 2);
}

#[test]
fn new_talkspurt_never_overlaps_the_previous_packet() {
    let t0 = Instant::now();
    let mut p = pacer();
    p.push(t0, &[0]).unwrap();
    p.end_talkspurt();
    drain(&mut p, t0);
    p.push(t0 + ms(5), &[1]).unwrap();
    assert_eq!(p.poll_timeout(), Some(t0 + ms(20)));
    let s = drain(&mut p, t0 + ms(20));
    assert_eq!(s[0].0.timestamp, (u32::MAX - 100).wrapping_add(160));
}

#[test]
fn flush_drops_everything_and_reports_it() {
    let t0 = Instant::now();
    let mut p = pacer();
    for i in 0..50u8 {
        p.push(t0, &[i]).unwrap();
    }
    drain(&mut p, t0 + ms(40));
    assert_eq!(p.flush(), ms(47 * 20));
    assert_eq!(p.queued(), Duration::ZERO);
    assert_eq!(p.poll_timeout(), None);
    assert_eq!(p.stats().flushed_frames, 47);
    // The next answer is a new talkspurt, right after the last packet sent.
    p.push(t0 + ms(45), &[99]).unwrap();
    let s = drain(&mut p, t0 + ms(60));
    assert_eq!(s.len(), 1);
    assert!(s[0].0.marker);
    assert_eq!(s[0].0.sequence, 65534u16.wrapping_add(3));
    assert_eq!(s[0].3, 99);
}

#[test]
fn refuses_oversized_frames_and_overflow() {
    let t0 = Instant::now();
    let mut p = Pacer::new(PacerConfig {
        max_queued: ms(60),
        ..PacerConfig::default()
    });
    assert_eq!(
        p.push(t0, &[0; 161]),
        Err(PushError::TooLarge { len: 161, max: 160 })
    );
    for _ in 0..3 {
        p.push(t0, &[0; 160]).unwrap();
    }
    assert_eq!(p.push(t0, &[0; 160]), Err(PushError::Full));
    assert_eq!(p.queued(), ms(60));
}

#[test]
fn end_of_talkspurt_is_not_an_underrun() {
    let t0 = Instant::now();
    let mut p = pacer();
    p.push(t0, &[0]).unwrap();
    drain(&mut p, t0);
    p.end_talkspurt();
    assert!(p.is_idle());
    p.push(t0 + ms(100), &[1]).unwrap();
    assert_eq!(p.stats().underruns, 0);
    assert!(drain(&mut p, t0 + ms(100))[0].0.marker);
}

#[test]
fn time_going_backwards_is_ignored() {
    let t0 = Instant::now();
    let mut p = pacer();
    p.push(t0 + ms(100), &[0]).unwrap();
    p.push(t0 + ms(100), &[1]).unwrap();
    assert_eq!(drain(&mut p, t0 + ms(100)).len(), 1);
    assert!(drain(&mut p, t0).is_empty());
}

#[test]
fn steady_state_does_not_allocate() {
    // The counter is live in this test binary (guards the zeros below).
    let guard = allocation_counter::measure(|| drop(std::hint::black_box(vec![1u8])));
    assert_eq!(guard.count_total, 1);
    let t0 = Instant::now();
    let mut p = pacer();
    let frame = [0u8; 160];
    let mut sent = 0;
    let info = allocation_counter::measure(|| {
        for i in 0..500u32 {
            let now = t0 + ms(20) * i;
            p.push(now, &frame).unwrap();
            p.handle_timeout(now);
            while let Some(pkt) = p.poll_output() {
                sent += pkt.payload.len();
            }
            if i % 100 == 99 {
                p.flush();
            }
        }
    });
    assert_eq!(info.count_total, 0);
    assert!(sent > 0);
}

/// On a [`SlotGrid`] a talkspurt starts at the next grid point: its first
/// packet waits less than a step, later packets keep their 20 ms spacing
/// (still on the grid), and the timestamps follow the slots.
#[test]
fn talkspurts_start_on_the_slot_grid() {
    let epoch = Instant::now();
    let grid = SlotGrid { epoch, step: ms(2) };
    let mut p = Pacer::new(PacerConfig {
        slot_grid: Some(grid),
        ..PacerConfig::default()
    });
    let t0 = epoch + Duration::from_micros(3_300);
    p.push(t0, &[0]).unwrap();
    p.push(t0, &[1]).unwrap();
    p.end_talkspurt();
    assert_eq!(p.poll_timeout(), Some(epoch + ms(4)), "the next grid point");
    let first = run_until(&mut p, epoch + ms(100));
    let dues: Vec<Instant> = first.iter().map(|s| s.1).collect();
    assert_eq!(dues, [epoch + ms(4), epoch + ms(24)]);
    // Silence, then a new talkspurt 57.5 ms after the epoch's 0: at 58 ms.
    let t1 = epoch + Duration::from_micros(57_500);
    p.push(t1, &[2]).unwrap();
    assert_eq!(p.poll_timeout(), Some(epoch + ms(58)));
    let s = drain(&mut p, epoch + ms(58));
    assert!(s[0].0.marker);
    assert_eq!(
        s[0].0.timestamp.wrapping_sub(first[1].0.timestamp),
        (58 - 24) * 8,
        "the timestamp follows the slot"
    );
    // A grid point itself is its own ceiling; before the epoch, the epoch.
    assert_eq!(grid.ceil(epoch + ms(6)), epoch + ms(6));
    assert_eq!(grid.ceil(epoch), epoch);
}
