//! Resampler tests: frequency, level and continuity for every rate pair.

use super::signal::*;
use super::*;
use std::f64::consts::PI;

const AMP: f64 = 16384.0;
const FRAMES: usize = 50; // 1 s

/// Runs one second of a 1 kHz tone through `from → to` frame by frame and
/// returns the output after the warm-up (delay plus one frame).
fn run_tone(from: u32, to: u32) -> (Vec<i16>, FrameResampler) {
    let mut r = FrameResampler::new(from, to).unwrap();
    let (n_in, n_out) = (r.input_len(), r.output_len());
    let mut out = vec![0i16; n_out * FRAMES];
    for f in 0..FRAMES {
        let frame = tone(from, 1000.0, AMP, f * n_in, n_in);
        let n = r
            .process(&frame, &mut out[f * n_out..(f + 1) * n_out])
            .unwrap();
        assert_eq!(n, n_out);
    }
    let skip = r.delay() + n_out;
    (out[skip..].to_vec(), r)
}

#[test]
fn one_khz_tone_keeps_frequency_level_and_continuity_for_every_pair() {
    for &from in &SUPPORTED_RATES {
        for &to in &SUPPORTED_RATES {
            let (out, r) = run_tone(from, to);
            let pair = format!("{from}->{to}");
            assert_eq!(r.output_len(), frame_len(to), "{pair}");
            let f = zero_crossing_freq(&out, to);
            assert!((f - 1000.0).abs() < 1.0, "{pair}: {f} Hz");
            let frac = goertzel_fraction(&out, to, 1000.0);
            assert!(frac > 0.99, "{pair}: only {frac} of the energy at 1 kHz");
            let level = db(rms(&out), AMP / 2f64.sqrt());
            assert!(level.abs() < 1.0, "{pair}: level {level:+.2} dB");
            // A clean sine's second difference is at most A·(2πf/fs)²; allow
            // 10 % plus rounding. A click at a frame edge would be far above.
            let w = 2.0 * PI * 1000.0 / f64::from(to);
            let bound = AMP * w * w * 1.1 + 4.0;
            let worst = max_second_diff(&out);
            assert!(worst <= bound, "{pair}: discontinuity {worst} > {bound}");
        }
    }
}

#[test]
fn delay_is_2_ms_on_the_fir_half_a_frame_on_the_fft_and_zero_for_passthrough() {
    let r = FrameResampler::new(8000, 16000).unwrap();
    assert_eq!(r.delay(), 31); // 2 ms at 16 kHz (half-band FIR)
    let r = FrameResampler::new(24000, 8000).unwrap();
    assert_eq!(r.delay(), 16); // 2 ms at 8 kHz
    let r = FrameResampler::new(22050, 8000).unwrap();
    assert_eq!(r.delay(), 80); // 10 ms at 8 kHz (FFT)
    let same = FrameResampler::new(16000, 16000).unwrap();
    assert_eq!(same.delay(), 0);
}

#[test]
fn twenty_two_khz_frames_are_441_samples() {
    let r = FrameResampler::new(22050, 8000).unwrap();
    assert_eq!((r.input_len(), r.output_len()), (441, 160));
    let r = FrameResampler::new(48000, 22050).unwrap();
    assert_eq!((r.input_len(), r.output_len()), (960, 441));
}

#[test]
fn rejects_bad_rates_and_lengths() {
    assert!(matches!(
        FrameResampler::new(44100, 8000),
        Err(ResampleError::UnsupportedRate(44100))
    ));
    let mut r = FrameResampler::new(24000, 8000).unwrap();
    let mut out = [0i16; 160];
    assert!(matches!(
        r.process(&[0; 479], &mut out),
        Err(ResampleError::WrongInputLength {
            expected: 480,
            got: 479
        })
    ));
    let mut small = [0i16; 100];
    assert!(matches!(
        r.process(&[0; 480], &mut small),
        Err(ResampleError::OutputTooSmall { .. })
    ));
}

#[test]
fn full_scale_input_clips_instead_of_wrapping() {
    // A full-scale square wave makes the filter ring past ±1.0.
    let mut r = FrameResampler::new(8000, 48000).unwrap();
    let square: Vec<i16> = (0..160)
        .map(|i| if (i / 4) % 2 == 0 { i16::MAX } else { i16::MIN })
        .collect();
    let mut out = [0i16; 960];
    for _ in 0..3 {
        r.process(&square, &mut out).unwrap();
        // Wrapping would put large values of the wrong sign next to each other.
        let jumps = out
            .windows(2)
            .filter(|w| (i32::from(w[0]) - i32::from(w[1])).abs() > 40000)
            .count();
        assert_eq!(jumps, 0);
    }
}

#[test]
fn stream_output_equals_frame_output_for_any_chunking() {
    let input = tone(24000, 1000.0, AMP, 0, 480 * 20 + 123);
    let mut frames = FrameResampler::new(24000, 8000).unwrap();
    let mut expected = Vec::new();
    let mut buf = [0i16; 160];
    for frame in input.chunks_exact(480) {
        frames.process(frame, &mut buf).unwrap();
        expected.extend_from_slice(&buf);
    }
    // Chunk sizes that straddle frame edges in every way, including empty.
    let sizes = [1usize, 0, 479, 480, 481, 7, 960, 1000, 33, 2000];
    let mut s = StreamResampler::new(24000, 8000).unwrap();
    let mut got = Vec::new();
    let (mut pos, mut k) = (0, 0);
    while pos < input.len() {
        let n = sizes[k % sizes.len()].min(input.len() - pos);
        s.push(&input[pos..pos + n], |f| {
            assert_eq!(f.len(), 160);
            got.extend_from_slice(f);
        })
        .unwrap();
        pos += n;
        k += 1;
    }
    assert_eq!(got, expected);
    assert_eq!(s.pending(), 123);
    assert_eq!(s.flush(|f| got.extend_from_slice(f)).unwrap(), 1);
    assert_eq!(s.flush(|_| panic!("nothing left")).unwrap(), 0);
    assert_eq!(got.len(), expected.len() + 160);
}

#[test]
fn stream_clear_drops_pending_audio() {
    let mut s = StreamResampler::new(22050, 16000).unwrap();
    assert_eq!(
        s.push(&[1000; 400], |_| panic!("no whole frame yet"))
            .unwrap(),
        0
    );
    assert_eq!(s.pending(), 400);
    s.clear();
    assert_eq!(s.pending(), 0);
    let mut frames = 0;
    s.push(&[0; 441], |f| {
        frames += 1;
        // Fresh filter and no leftover 1000s: silence in, silence out.
        assert!(f.iter().all(|&x| x == 0), "{:?}", &f[..8]);
    })
    .unwrap();
    assert_eq!(frames, 1);
}

#[test]
fn continuity_check_catches_a_broken_frame_edge() {
    // Resetting mid-stream throws the filter history away: the kind of
    // frame-edge click the continuity assertion above exists to catch.
    let mut r = FrameResampler::new(8000, 48000).unwrap();
    let mut out = vec![0i16; 960 * 10];
    for f in 0..10 {
        if f == 5 {
            r.reset();
        }
        let frame = tone(8000, 1000.0, AMP, f * 160, 160);
        r.process(&frame, &mut out[f * 960..(f + 1) * 960]).unwrap();
    }
    let w = 2.0 * PI * 1000.0 / 48000.0;
    let bound = AMP * w * w * 1.1 + 4.0;
    assert!(max_second_diff(&out[960 * 3..]) > bound);
}
