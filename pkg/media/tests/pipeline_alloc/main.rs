//! Zero heap allocations per frame in both call pipelines after warm-up,
//! counted with `allocation-counter`'s global allocator (the approach of
//! `tests/no_alloc`: the workspace forbids the `unsafe` of a hand-written one;
//! counts are per thread, so parallel tests do not disturb each other).
//!
//! Each test builds its pipeline and its inputs first, runs a warm-up, then
//! holds more than 1,000 frames of steady state (with loss, reordering,
//! digits, silences, barge-in) to zero allocations.

// Tests read the clock to make their inputs and to measure.
#![allow(clippy::disallowed_methods)]

use std::time::{Duration, Instant};

use allocation_counter::measure;
use vg_media::codec::{Codec, Pcmu};
use vg_media::dtmf::DtmfSender;
use vg_media::echo::{EchoConfig, EchoReference};
use vg_media::pipeline::{
    InboundConfig, InboundOutput, InboundPipeline, OutboundConfig, OutboundPipeline,
};
use vg_media::rtp::RtpHeader;
use vg_media::vad::{
    EarshotConfig, EarshotVad, EnergyConfig, EnergyVad, VadConfig, VoiceActivityDetector,
};

const FRAME: Duration = Duration::from_millis(20);

fn tone(n: usize, rate: u32, start: usize) -> Vec<i16> {
    (start..start + n)
        .map(|i| {
            let phase = i as f64 * std::f64::consts::TAU * 440.0 / f64::from(rate);
            (8000.0 * phase.sin()) as i16
        })
        .collect()
}

/// Datagrams and their arrival offsets (in frames): a µ-law tone in
/// talkspurts of 2 s with 400 ms of silence between (Asterisk sends nothing
/// then), one packet in 50 lost, pairs swapped, and a digit now and then.
fn inbound_traffic(frames: u32) -> Vec<(u32, Vec<u8>)> {
    let mut out = Vec::new();
    let mut seq = 0u16;
    let pcm = tone(160 * frames as usize, 8000, 0);
    let dtmf = DtmfSender::new(8000);
    for i in 0..frames {
        let ts = 160 * i;
        let mut payload = [0u8; 160];
        let frame = &pcm[160 * i as usize..][..160];
        Pcmu.encode(frame, &mut payload).unwrap();
        let in_spurt = i % 120;
        if in_spurt >= 100 {
            if in_spurt == 105 {
                for p in dtmf.packets('5', 100, 10, ts).unwrap() {
                    out.push((i, rtp(101, seq, p.timestamp, &p.payload)));
                    seq = seq.wrapping_add(1);
                }
            }
            continue;
        }
        if i % 50 != 7 {
            out.push((i, rtp(0, seq, ts, &payload)));
        }
        seq = seq.wrapping_add(1);
    }
    for k in (1..out.len()).step_by(9) {
        out.swap(k - 1, k);
    }
    out
}

fn rtp(pt: u8, seq: u16, ts: u32, payload: &[u8]) -> Vec<u8> {
    let h = RtpHeader {
        marker: false,
        payload_type: pt,
        sequence: seq,
        timestamp: ts,
        ssrc: 0x5eed,
    };
    let mut buf = vec![0; 12 + payload.len()];
    let n = h.write_packet(payload, &mut buf).unwrap();
    buf.truncate(n);
    buf
}

/// Feeds `traffic` in real time; returns (audio frames, VAD events, digits).
fn run_inbound<V: VoiceActivityDetector>(
    p: &mut InboundPipeline<V>,
    t0: Instant,
    traffic: &[(u32, Vec<u8>)],
) -> (u64, u64, u64) {
    let mut counts = (0, 0, 0);
    let mut drain = |p: &mut InboundPipeline<V>, now: Instant| {
        while let Some(t) = p.poll_timeout().filter(|&t| t <= now) {
            p.handle_timeout(t);
            while let Some(o) = p.poll_output() {
                match o {
                    InboundOutput::Audio { pcm, .. } => counts.0 += u64::from(!pcm.is_empty()),
                    InboundOutput::Vad(_) => counts.1 += 1,
                    InboundOutput::Dtmf(_) => counts.2 += 1,
                }
            }
        }
    };
    for (at, bytes) in traffic {
        let now = t0 + FRAME * *at;
        drain(p, now);
        // Reordered neighbours may count as late; errors are not expected.
        p.handle_packet(now, bytes).unwrap();
    }
    let end = t0 + FRAME * (traffic.last().map_or(0, |t| t.0) + 100);
    drain(p, end);
    counts
}

fn inbound_steady_state_does_not_allocate<V: VoiceActivityDetector>(vad: V) {
    let mut p = InboundPipeline::new(InboundConfig::default(), vad).unwrap();
    let t0 = Instant::now();
    let warm_up = inbound_traffic(250);
    let steady = inbound_traffic(1500);
    let w = run_inbound(&mut p, t0, &warm_up);
    assert!(w.0 > 0);
    let t1 = t0 + Duration::from_secs(60);
    let mut counts = (0, 0, 0);
    let info = measure(|| counts = run_inbound(&mut p, t1, &steady));
    assert_eq!(info.count_total, 0, "{info:?}");
    assert!(counts.0 >= 1000, "{counts:?} frames");
    assert!(
        counts.1 >= 2 && counts.2 >= 10,
        "{counts:?} vad events, digits"
    );
}

#[test]
fn the_counter_sees_allocations() {
    assert_eq!(
        measure(|| drop(std::hint::black_box(vec![1u8]))).count_total,
        1
    );
}

#[test]
fn inbound_with_energy_vad_does_not_allocate_per_frame() {
    inbound_steady_state_does_not_allocate(EnergyVad::new(
        VadConfig::default(),
        EnergyConfig::default(),
    ));
}

#[test]
fn inbound_with_earshot_vad_does_not_allocate_per_frame() {
    inbound_steady_state_does_not_allocate(EarshotVad::new(
        VadConfig::default(),
        EarshotConfig::default(),
    ));
}

/// TTS replies of 3 s at 24 kHz in 1234-sample chunks, arriving faster than
/// real time; every fourth reply is barged in on halfway, and every fourth
/// paused (a barge-in hold) for 400 ms and resumed; a digit after each. Each
/// packet's level goes into an echo reference, as the leg does, and every
/// packet asks it whether what is heard is echo (the leg asks per onset).
fn run_outbound(p: &mut OutboundPipeline, t0: Instant, replies: u32, tts: &[i16]) -> u64 {
    let mut packets = 0u64;
    let mut now = t0;
    let mut echo = EchoReference::new(EchoConfig::default());
    let mut send = |p: &mut OutboundPipeline, until: Instant| {
        while let Some(t) = p.poll_timeout().filter(|&t| t <= until) {
            p.handle_timeout(t);
            while let Some(bytes) = p.poll_transmit() {
                packets += u64::from(bytes.len() == 172 || bytes.len() == 16);
                echo.record_sent(t, p.last_level());
                echo.record_heard(t, p.last_level() / 3);
                std::hint::black_box(echo.is_echo());
            }
        }
    };
    for r in 0..replies {
        for (i, chunk) in tts.chunks(1234).enumerate() {
            if r % 4 == 1 && i == 30 {
                p.pause();
                now += Duration::from_millis(400);
                send(p, now);
                p.resume(now);
            }
            p.push_pcm(now, chunk, 24000).unwrap();
            now += Duration::from_millis(10);
            send(p, now);
        }
        if r % 4 == 3 {
            p.flush();
        } else {
            p.end_of_speech(now).unwrap();
            p.send_dtmf(now, '#').unwrap();
        }
        now += Duration::from_secs(4);
        send(p, now);
    }
    packets
}

#[test]
fn outbound_does_not_allocate_per_frame() {
    let mut p = OutboundPipeline::new(OutboundConfig::default()).unwrap();
    let tts = tone(72_000, 24000, 0);
    let t0 = Instant::now();
    assert!(run_outbound(&mut p, t0, 2, &tts) > 0);
    let t1 = t0 + Duration::from_secs(60);
    let mut packets = 0;
    let info = measure(|| packets = run_outbound(&mut p, t1, 8, &tts));
    assert_eq!(info.count_total, 0, "{info:?}");
    assert!(packets >= 1000, "{packets} packets");
    let s = p.stats();
    assert!(s.flushed > Duration::ZERO && s.dtmf_packets > 0);
}
