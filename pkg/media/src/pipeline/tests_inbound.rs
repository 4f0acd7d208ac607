//! Inbound pipeline with synthetic time: every instant is `t0 + offset`.

use std::time::{Duration, Instant};

use super::{InboundConfig, InboundError, InboundOutput, InboundPipeline};
use crate::codec::{Codec, Pcmu};
use crate::dtmf::DtmfSender;
use crate::resample::signal::{goertzel_fraction, rms, tone, zero_crossing_freq};
use crate::rtp::{RtpError, RtpHeader};
use crate::vad::{EnergyConfig, EnergyVad, VadConfig, VadEvent};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn pipeline(config: InboundConfig) -> InboundPipeline {
    let vad = EnergyVad::new(VadConfig::default(), EnergyConfig::default());
    InboundPipeline::new(config, vad).unwrap()
}

fn packet(pt: u8, seq: u16, ts: u32, payload: &[u8]) -> Vec<u8> {
    let h = RtpHeader {
        marker: false,
        payload_type: pt,
        sequence: seq,
        timestamp: ts,
        ssrc: 0x1234,
    };
    let mut buf = vec![0; 12 + payload.len()];
    let n = h.write_packet(payload, &mut buf).unwrap();
    buf.truncate(n);
    buf
}

/// µ-law packet `i` of a 1 kHz tone at 8 kHz.
fn ulaw_tone_packet(i: u16) -> Vec<u8> {
    let pcm = tone(8000, 1000.0, 8000.0, 160 * usize::from(i), 160);
    let mut bytes = [0u8; 160];
    Pcmu.encode(&pcm, &mut bytes).unwrap();
    packet(0, 100 + i, 160 * u32::from(i), &bytes)
}

#[derive(Debug, PartialEq)]
enum Out {
    Audio(Vec<i16>, Instant),
    Vad(VadEvent),
    Digit(char),
}

/// Wakes at every deadline up to `until`, collecting what comes out.
fn drive(p: &mut InboundPipeline, until: Instant) -> Vec<Out> {
    let mut out = Vec::new();
    while let Some(t) = p.poll_timeout().filter(|&t| t <= until) {
        p.handle_timeout(t);
        drain(p, &mut out);
    }
    p.handle_timeout(until);
    drain(p, &mut out);
    out
}

fn drain(p: &mut InboundPipeline, out: &mut Vec<Out>) {
    while let Some(o) = p.poll_output() {
        out.push(match o {
            InboundOutput::Audio { pcm, at } => Out::Audio(pcm.to_vec(), at),
            InboundOutput::Vad(e) => Out::Vad(e),
            InboundOutput::Dtmf(d) => Out::Digit(d.digit),
        });
    }
}

fn audio(out: &[Out]) -> Vec<(&[i16], Instant)> {
    out.iter()
        .filter_map(|o| match o {
            Out::Audio(pcm, at) => Some((&pcm[..], *at)),
            _ => None,
        })
        .collect()
}

#[test]
fn ulaw_tone_comes_out_at_16_khz_with_the_same_frequency_and_level() {
    let t0 = Instant::now();
    let mut p = pipeline(InboundConfig::default());
    let mut out = Vec::new();
    for i in 0..50u16 {
        let now = t0 + ms(20) * u32::from(i);
        out.extend(drive(&mut p, now));
        p.handle_packet(now, &ulaw_tone_packet(i)).unwrap();
    }
    out.extend(drive(&mut p, t0 + ms(2000)));
    let frames = audio(&out);
    assert_eq!(frames.len(), 50);
    assert!(frames.iter().all(|(pcm, _)| pcm.len() == 320));
    // Skip the resampler's warm-up; measure the steady tone.
    let pcm: Vec<i16> = frames[5..]
        .iter()
        .flat_map(|(f, _)| f.iter().copied())
        .collect();
    let freq = zero_crossing_freq(&pcm, 16000);
    assert!((freq - 1000.0).abs() < 2.0, "{freq} Hz");
    assert!(goertzel_fraction(&pcm, 16000, 1000.0) > 0.98);
    let level = rms(&pcm) / (8000.0 / 2f64.sqrt());
    assert!((0.95..1.05).contains(&level), "level ratio {level}");
    // One frame every 20 ms, 60 ms after the first arrival (default delay).
    for (k, (_, at)) in frames.iter().enumerate() {
        assert_eq!(*at, t0 + ms(60) + ms(20) * k as u32);
    }
    assert!(out.contains(&Out::Vad(VadEvent::SpeechStart { at: t0 + ms(60) })));
    assert!(matches!(
        out.last(),
        Some(Out::Vad(VadEvent::SpeechEnd { .. }))
    ));
    let s = p.stats();
    assert_eq!((s.packets, s.frames, s.silence_frames), (50, 50, 0));
}

/// L16 at 8 kHz out at 8 kHz: passthrough, so each frame shows its packet index.
fn index_config() -> InboundConfig {
    InboundConfig {
        output_rate: 8000,
        ..InboundConfig::default()
    }
}

fn index_packet(i: u16) -> Vec<u8> {
    let v = (i16::try_from(i).unwrap() + 1) * 100;
    let payload: Vec<u8> = std::iter::repeat_n(v.to_be_bytes(), 160)
        .flatten()
        .collect();
    packet(10, 500 + i, 160 * u32::from(i), &payload)
}

#[test]
fn reordered_and_lost_packets_still_give_ordered_frames() {
    let t0 = Instant::now();
    let mut p = pipeline(index_config());
    // Arrival order within the 60 ms delay: 1 and 2 swapped, 5 and 4 swapped,
    // 6 lost, 3 duplicated.
    let order = [0u16, 2, 1, 3, 3, 5, 4, 7, 8, 9];
    let mut out = Vec::new();
    for (k, &i) in order.iter().enumerate() {
        let now = t0 + ms(20) * k as u32;
        out.extend(drive(&mut p, now));
        p.handle_packet(now, &index_packet(i)).unwrap();
    }
    out.extend(drive(&mut p, t0 + ms(1000)));
    let frames = audio(&out);
    let values: Vec<i16> = frames.iter().map(|(pcm, _)| pcm[80]).collect();
    assert_eq!(values, [100, 200, 300, 400, 500, 600, 0, 800, 900, 1000]);
    for w in frames.windows(2) {
        assert_eq!(w[1].1 - w[0].1, ms(20));
    }
    let s = p.stats();
    assert_eq!(
        (s.silence_frames, s.jitter.duplicate, s.jitter.lost),
        (1, 1, 1)
    );
}

#[test]
fn telephone_event_packets_give_one_digit() {
    let t0 = Instant::now();
    let mut p = pipeline(InboundConfig::default());
    let packets: Vec<_> = DtmfSender::new(8000)
        .packets('5', 120, 10, 8000)
        .unwrap()
        .collect();
    let mut out = Vec::new();
    for (k, d) in packets.iter().enumerate() {
        let now = t0 + ms(20) * k as u32;
        let mut bytes = packet(101, 10 + k as u16, d.timestamp, &d.payload);
        bytes[1] |= u8::from(d.marker) << 7;
        p.handle_packet(now, &bytes).unwrap();
        out.extend(drive(&mut p, now));
    }
    out.extend(drive(&mut p, t0 + ms(2000)));
    assert_eq!(out, [Out::Digit('5')]);
    assert_eq!(p.stats().dtmf_packets, packets.len() as u64);
    assert_eq!(p.stats().digits, 1);
}

#[test]
fn a_digit_without_end_packets_is_reported_after_the_quiet_time() {
    let t0 = Instant::now();
    let mut p = pipeline(InboundConfig::default());
    let first = DtmfSender::new(8000)
        .packets('#', 200, 10, 0)
        .unwrap()
        .next()
        .unwrap();
    p.handle_packet(t0, &packet(101, 1, 0, &first.payload))
        .unwrap();
    assert_eq!(p.poll_timeout(), Some(t0 + ms(500)));
    assert!(drive(&mut p, t0 + ms(499)).is_empty());
    assert_eq!(drive(&mut p, t0 + ms(500)), [Out::Digit('#')]);
    assert_eq!(p.poll_timeout(), None);
}

#[test]
fn bad_datagrams_are_typed_errors_and_counted() {
    let t0 = Instant::now();
    let mut p = InboundPipeline::new(
        InboundConfig {
            expected_ssrc: Some(0x1234),
            ..InboundConfig::default()
        },
        EnergyVad::new(VadConfig::default(), EnergyConfig::default()),
    )
    .unwrap();
    assert_eq!(
        p.handle_packet(t0, &[0x80, 0]),
        Err(InboundError::Malformed(RtpError::TooShort { len: 2 }))
    );
    assert_eq!(
        p.handle_packet(t0, &packet(96, 1, 0, &[0; 160])),
        Err(InboundError::UnexpectedPayloadType(96))
    );
    let mut other = packet(0, 1, 0, &[0; 160]);
    other[8..12].copy_from_slice(&[0, 0, 0, 9]);
    assert_eq!(
        p.handle_packet(t0, &other),
        Err(InboundError::UnexpectedSsrc {
            expected: 0x1234,
            got: 9
        })
    );
    assert_eq!(
        p.handle_packet(t0, &packet(8, 1, 0, &[0; 80])),
        Err(InboundError::BadPayloadLength {
            payload_type: 8,
            len: 80,
            expected: 160
        })
    );
    assert!(matches!(
        p.handle_packet(t0, &packet(101, 1, 0, &[1, 2, 3])),
        Err(InboundError::Dtmf(_))
    ));
    let s = p.stats();
    assert_eq!(
        (
            s.packets,
            s.malformed,
            s.unexpected_payload_type,
            s.unexpected_ssrc,
            s.bad_length
        ),
        (5, 1, 1, 1, 1)
    );
    assert_eq!(p.poll_timeout(), None);
    assert!(drive(&mut p, t0 + ms(1000)).is_empty());
}

#[test]
fn arbitrary_bytes_never_panic() {
    let t0 = Instant::now();
    let mut p = pipeline(InboundConfig::default());
    let mut seed = 1u32;
    for n in 0..2000u32 {
        let len = (n % 200) as usize;
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (seed >> 24) as u8
            })
            .collect();
        let mut b = bytes;
        if n % 2 == 0 && b.len() >= 12 {
            b[0] = 0x80; // mostly valid headers, random rest
            b[1] &= 0x7f;
        }
        let now = t0 + ms(u64::from(n));
        let _ = p.handle_packet(now, &b);
        drive(&mut p, now);
    }
}

#[test]
fn slin16_in_without_g711() {
    let t0 = Instant::now();
    let config = InboundConfig {
        clock_rate: 16000,
        l16_payload_type: Some(118),
        ..InboundConfig::default()
    };
    let mut p = pipeline(config);
    assert_eq!(
        p.handle_packet(t0, &packet(0, 1, 0, &[0; 160])),
        Err(InboundError::UnexpectedPayloadType(0))
    );
    p.handle_packet(t0, &packet(118, 1, 0, &[0; 640])).unwrap();
    let out = drive(&mut p, t0 + ms(100));
    assert_eq!(audio(&out).len(), 1);
    assert_eq!(audio(&out)[0].0.len(), 320);
    assert!(
        InboundPipeline::new(
            InboundConfig {
                clock_rate: 16000,
                l16_payload_type: None,
                ..InboundConfig::default()
            },
            EnergyVad::new(VadConfig::default(), EnergyConfig::default())
        )
        .is_err()
    );
}

/// AudioSocket `slin16`: framed little-endian 16 kHz bytes in any split
/// come out as 16 kHz frames with a 6 kHz tone intact. An 8 kHz detour
/// anywhere on the way would have cut everything above 4 kHz.
#[test]
fn framed_slin16_reaches_the_output_at_16_khz_without_an_8_khz_detour() {
    use super::TelephoneCodec;
    let mut p = pipeline(InboundConfig {
        clock_rate: 16000,
        l16_payload_type: None,
        telephone_event_payload_type: None,
        output_rate: 16000,
        framed: Some(TelephoneCodec::SlinLe { rate: 16000 }),
        ..InboundConfig::default()
    });
    let pcm = tone(16000, 6000.0, 8000.0, 0, 320 * 10);
    let bytes: Vec<u8> = pcm.iter().flat_map(|s| s.to_le_bytes()).collect();
    let t0 = Instant::now();
    let (mut out, mut at) = (Vec::new(), 0);
    // Split like a TCP reader might: 7 bytes, then 1000s.
    for (i, chunk) in [&bytes[..7], &bytes[7..]].iter().enumerate() {
        let mut off = 0;
        while off < chunk.len() {
            off += p
                .push_frame_bytes(t0 + ms(i as u64), &chunk[off..])
                .unwrap();
            while let Some(o) = p.poll_output() {
                if let InboundOutput::Audio { pcm, .. } = o {
                    assert_eq!(pcm.len(), 320, "20 ms at 16 kHz");
                    out.extend_from_slice(pcm);
                }
            }
        }
        at += chunk.len();
    }
    assert_eq!(at, bytes.len());
    assert_eq!(out.len(), pcm.len());
    assert!(
        goertzel_fraction(&out[640..], 16000, 6000.0) > 0.9,
        "the 6 kHz tone is intact"
    );
    assert!(rms(&out[640..]) > 0.5 * rms(&pcm));
    assert_eq!(p.stats().framed_bytes, bytes.len() as u64);
}

#[test]
fn framed_audio_needs_a_framed_codec() {
    let mut p = pipeline(InboundConfig::default());
    assert_eq!(
        p.push_frame_bytes(Instant::now(), &[0; 4]),
        Err(InboundError::NotFramed)
    );
}
