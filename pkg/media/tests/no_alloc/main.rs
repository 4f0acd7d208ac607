//! Zero heap allocations per frame on the per-frame paths, counted with a
//! counting global allocator (`allocation-counter`, thread-local counts, so
//! parallel tests do not disturb each other). Each path is warmed up first:
//! only the steady state is held to zero.

// Tests read the clock to make their inputs and to measure.
#![allow(clippy::disallowed_methods)]

use allocation_counter::measure;
use vg_media::codec::{Codec, L16, Opus, OpusApplication, Pcma, Pcmu};
use vg_media::dtmf::{DtmfReceiver, DtmfSender};
use vg_media::resample::{FrameResampler, StreamResampler};
use vg_media::rtp::{RtpHeader, RtpPacket, SeqTracker};

fn tone(n: usize, rate: u32) -> Vec<i16> {
    (0..n)
        .map(|i| {
            (10000.0 * (i as f64 * std::f64::consts::TAU * 1000.0 / f64::from(rate)).sin()) as i16
        })
        .collect()
}

#[test]
fn the_counter_sees_allocations() {
    // Guards every zero below against a counter that counts nothing.
    assert_eq!(
        measure(|| drop(std::hint::black_box(vec![1u8]))).count_total,
        1
    );
}

#[test]
fn rtp_parse_build_and_seq_tracking_do_not_allocate() {
    let header = RtpHeader {
        marker: false,
        payload_type: 0,
        sequence: 1,
        timestamp: 160,
        ssrc: 7,
    };
    let payload = [0xffu8; 160];
    let mut buf = [0u8; 1500];
    let mut seq = SeqTracker::new();
    let info = measure(|| {
        for i in 0..100u16 {
            let h = RtpHeader {
                sequence: header.sequence.wrapping_add(i),
                ..header
            };
            let n = h.write_packet(&payload, &mut buf).unwrap();
            let p = RtpPacket::parse(&buf[..n]).unwrap();
            seq.update(p.header.sequence);
        }
    });
    assert_eq!(info.count_total, 0);
}

#[test]
fn g711_and_l16_frames_do_not_allocate() {
    let pcm = tone(320, 16000);
    let mut bytes = [0u8; 640];
    let mut out = [0i16; 320];
    let mut codecs: [Box<dyn Codec>; 4] = [
        Box::new(Pcmu::new()),
        Box::new(Pcma::new()),
        Box::new(L16::rtp_slin()),
        Box::new(L16::socket(16000).unwrap()),
    ];
    let info = measure(|| {
        for c in codecs.iter_mut() {
            let n = c.samples_per_frame();
            let len = c.encode(&pcm[..n], &mut bytes).unwrap();
            c.decode(&bytes[..len], &mut out).unwrap();
        }
    });
    assert_eq!(info.count_total, 0);
}

#[test]
fn opus_frames_do_not_allocate_after_construction() {
    let mut c = Opus::new(48000, 111, OpusApplication::Voip).unwrap();
    let pcm = tone(960, 48000);
    let mut packet = [0u8; Opus::MAX_PACKET];
    let mut out = [0i16; 960];
    let len = c.encode(&pcm, &mut packet).unwrap();
    c.decode(&packet[..len], &mut out).unwrap();
    let info = measure(|| {
        for _ in 0..10 {
            let len = c.encode(&pcm, &mut packet).unwrap();
            c.decode(&packet[..len], &mut out).unwrap();
        }
        c.decode(&[], &mut out).unwrap(); // loss concealment too
    });
    assert_eq!(info.count_total, 0);
}

#[test]
fn resampling_frames_and_streams_do_not_allocate() {
    for (from, to) in [
        (8000, 16000),
        (24000, 8000),
        (22050, 8000),
        (48000, 16000),
        (16000, 48000),
    ] {
        let mut r = FrameResampler::new(from, to).unwrap();
        let input = tone(r.input_len(), from);
        let mut out = vec![0i16; r.output_len()];
        r.process(&input, &mut out).unwrap();
        let info = measure(|| {
            for _ in 0..10 {
                r.process(&input, &mut out).unwrap();
            }
        });
        assert_eq!(info.count_total, 0, "{from}->{to}");

        let mut s = StreamResampler::new(from, to).unwrap();
        let chunk = tone(1234, from);
        s.push(&chunk, |_| {}).unwrap();
        let mut frames = 0;
        let info = measure(|| {
            for _ in 0..5 {
                frames += s.push(&chunk, |_| {}).unwrap();
            }
            frames += s.flush(|_| {}).unwrap();
        });
        assert_eq!(info.count_total, 0, "stream {from}->{to}");
        assert!(frames > 0);
    }
}

#[test]
fn dtmf_receive_and_send_do_not_allocate() {
    let sender = DtmfSender::new(8000);
    let mut r = DtmfReceiver::new(8000);
    let mut digits = 0;
    let info = measure(|| {
        for (k, d) in "0123456789*#ABCD".chars().enumerate() {
            for p in sender.packets(d, 100, 10, k as u32 * 2000).unwrap() {
                r.handle(p.timestamp, &p.payload).unwrap();
            }
            while r.poll_event().is_some() {
                digits += 1;
            }
        }
    });
    assert_eq!(info.count_total, 0);
    assert_eq!(digits, 16);
}
