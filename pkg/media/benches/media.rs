//! Per-frame cost of the two call pipelines (`make bench`).
//!
//! - `media/inbound_frame`: one 20 ms µ-law packet in → jitter buffer →
//!   decode → 8→16 kHz → energy VAD → one 16 kHz frame out.
//! - `media/inbound_frame_earshot`: the same with the earshot VAD.
//! - `media/outbound_frame`: one 20 ms chunk of 24 kHz PCM → 24→8 kHz →
//!   µ-law → pacer → one serialized RTP packet.
//! - `media/resample_8k_16k_frame`, `media/resample_24k_8k_frame`: the
//!   polyphase FIR alone, the largest part of both.
//!
//! Time is synthetic: each iteration advances a base `Instant` by 20 ms, so
//! every iteration is one frame of a steady call (one in, one out).

// A benchmark times what it measures.
#![allow(clippy::disallowed_methods)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use vg_media::codec::{Codec, Pcmu};
use vg_media::pipeline::{InboundConfig, InboundPipeline, OutboundConfig, OutboundPipeline};
use vg_media::rtp::RtpHeader;
use vg_media::vad::{
    EarshotConfig, EarshotVad, EnergyConfig, EnergyVad, VadConfig, VoiceActivityDetector,
};

const FRAME: Duration = Duration::from_millis(20);

fn tone(n: usize, rate: u32) -> Vec<i16> {
    (0..n)
        .map(|i| {
            let phase = i as f64 * std::f64::consts::TAU * 440.0 / f64::from(rate);
            (8000.0 * phase.sin()) as i16
        })
        .collect()
}

fn bench_inbound<V: VoiceActivityDetector>(c: &mut Criterion, name: &str, vad: V) {
    let mut p = InboundPipeline::new(InboundConfig::default(), vad).unwrap();
    // One second of tone, sent round and round: the VAD hears speech.
    let pcm = tone(8000, 8000);
    let payloads: Vec<[u8; 160]> = pcm
        .chunks_exact(160)
        .map(|f| {
            let mut b = [0u8; 160];
            Pcmu.encode(f, &mut b).unwrap();
            b
        })
        .collect();
    let mut buf = [0u8; 172];
    let t0 = Instant::now();
    let mut i = 0u32;
    c.bench_function(name, |b| {
        b.iter(|| {
            let now = t0 + FRAME * i;
            let h = RtpHeader {
                marker: false,
                payload_type: 0,
                sequence: i as u16,
                timestamp: 160 * i,
                ssrc: 1,
            };
            let n = h
                .write_packet(&payloads[i as usize % payloads.len()], &mut buf)
                .unwrap();
            p.handle_packet(now, black_box(&buf[..n])).unwrap();
            p.handle_timeout(now);
            while let Some(out) = p.poll_output() {
                black_box(out);
            }
            i += 1;
        })
    });
}

fn inbound(c: &mut Criterion) {
    let energy = EnergyVad::new(VadConfig::default(), EnergyConfig::default());
    bench_inbound(c, "media/inbound_frame", energy);
    let earshot = EarshotVad::new(VadConfig::default(), EarshotConfig::default());
    bench_inbound(c, "media/inbound_frame_earshot", earshot);
}

fn outbound(c: &mut Criterion) {
    let mut p = OutboundPipeline::new(OutboundConfig::default()).unwrap();
    let pcm = tone(24000, 24000);
    let t0 = Instant::now();
    let mut i = 0u32;
    c.bench_function("media/outbound_frame", |b| {
        b.iter(|| {
            let now = t0 + FRAME * i;
            let chunk = &pcm[(i as usize % 50) * 480..][..480];
            p.push_pcm(now, black_box(chunk), 24000).unwrap();
            p.handle_timeout(now);
            while let Some(packet) = p.poll_transmit() {
                black_box(packet);
            }
            i += 1;
        })
    });
}

/// The beep detector's cost per 20 ms frame at 16 kHz (89 Goertzel filters),
/// paid only while an outbound call is screened for a machine.
fn tone_detector(c: &mut Criterion) {
    let mut d =
        vg_media::tone::ToneDetector::new(vg_media::tone::ToneConfig::default(), 16000).unwrap();
    let pcm = tone(16000, 16000);
    let t0 = Instant::now();
    let mut i = 0u32;
    c.bench_function("media/tone_detector_frame_16k", |b| {
        b.iter(|| {
            let frame = &pcm[(i as usize % 50) * 320..][..320];
            black_box(d.push(t0 + FRAME * i, black_box(frame)));
            i += 1;
        })
    });
}

/// The FIR resampler alone: caller audio up to the STT's rate (every frame
/// of every call), agent audio down to the wire's.
fn resample(c: &mut Criterion) {
    for (from, to, name) in [
        (8000, 16000, "media/resample_8k_16k_frame"),
        (24000, 8000, "media/resample_24k_8k_frame"),
    ] {
        let mut r = vg_media::resample::FrameResampler::new(from, to).unwrap();
        let input = tone(r.input_len(), from);
        let mut out = vec![0i16; r.output_len()];
        c.bench_function(name, |b| {
            b.iter(|| black_box(r.process(black_box(&input), &mut out).unwrap()))
        });
    }
}

criterion_group!(benches, inbound, outbound, resample, tone_detector);
criterion_main!(benches);
