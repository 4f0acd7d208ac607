//! Polyphase FIR resampler for the rate pairs with a small ratio (8, 16, 24
//! and 48 kHz among themselves: L/M with L, M ≤ 6).
//!
//! # Why not the FFT resampler for these
//! Callgrind put rubato's `Fft` at 80-85 % of a pipeline frame, and its
//! algorithmic delay is half a frame (10 ms), ten times the design's 1 ms
//! budget for caller audio → STT. A windowed-sinc polyphase filter of 32 taps
//! per phase (scaled up for decimation) delays about 2 ms, keeps > 70 dB of
//! stopband (Kaiser, β = 8) and runs as i16 × i16 → i32 dot products that the
//! compiler vectorizes on baseline x86-64. 22.05 kHz pairs (ratios like
//! 441/160) stay on the FFT resampler.
//!
//! # Doubling the rate: a half-band filter
//! Every call's audio goes 8 → 16 kHz for the VAD and the STT, fifty frames a
//! second. For L/M = 2/1 the prototype is a half-band filter (cutoff at the
//! input's Nyquist, odd length): every other tap is zero but the centre, so
//! one of the two phases is a pure delay and its outputs are copies of the
//! input. Half the outputs then cost no multiply; the other phase keeps its
//! 32 taps. Its -6 dB point is at 4 kHz, where µ-law telephone audio has no
//! content left (the network band stops at 3.4 kHz); the image of 3 kHz at
//! 5 kHz is still > 70 dB down.

/// Taps per phase for a pure interpolator; decimators get `max(L, M)` times
/// this in total so their cutoff is as sharp relative to the lower rate.
const TAPS: usize = 32;
/// Kaiser window shape: about 80 dB of sidelobe suppression.
const BETA: f64 = 8.0;
/// Cutoff as a fraction of the lower rate: the -6 dB point at 0.45 × rate
/// (3.6 kHz for 8 kHz), leaving the transition band below Nyquist.
const CUTOFF: f64 = 0.45;
/// Fixed-point scale of the coefficients: Q15, or Q14 for a filter whose
/// taps add up (in magnitude) to more than the accumulators could hold at
/// full-scale input (the half-band filter's sharp edge).
const Q: u32 = 15;

/// Rational L/M resampler: `up` phases of `taps` coefficients each.
pub(super) struct Fir {
    up: usize,
    down: usize,
    taps: usize,
    /// Phase-major, each phase reversed so a dot product runs forward.
    coeffs: Box<[i16]>,
    /// `taps - 1` samples of history followed by the current frame.
    buf: Box<[i16]>,
    delay: usize,
    /// Per phase: the one tap of a phase that is a pure delay (the half-band
    /// filter's centre), whose outputs are copied instead of filtered.
    copy_tap: Box<[Option<usize>]>,
    /// The coefficients' fixed-point scale (Q15 or Q14).
    q: u32,
    /// Doubling the rate: the half-band filter's fast path.
    half_band: Option<HalfBand>,
}

/// 2/1 with a half-band filter: one phase copies, the other filters. The
/// filtered phase is computed for the whole frame at once, tap by tap
/// across the outputs (four taps a pass), rather than output by output:
/// each pass is a run of multiply-adds over contiguous samples that the
/// compiler vectorizes, with no horizontal sum per output.
struct HalfBand {
    /// The phase whose outputs are copies, and the tap it copies.
    copy_phase: usize,
    copy_tap: usize,
    /// One accumulator per input sample of a frame.
    acc: Box<[i32]>,
}

/// The reduced ratio `to/from` as (L, M) if a FIR serves it.
pub(super) fn ratio(from_hz: u32, to_hz: u32) -> Option<(usize, usize)> {
    let g = gcd(from_hz, to_hz);
    let (up, down) = ((to_hz / g) as usize, (from_hz / g) as usize);
    (up <= 6 && down <= 6).then_some((up, down))
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 { a } else { gcd(b, a % b) }
}

impl Fir {
    /// A resampler taking `n_in` samples per frame; `to/from` must reduce to
    /// (`up`, `down`) as given by [`ratio`].
    pub(super) fn new(from_hz: u32, to_hz: u32, up: usize, down: usize, n_in: usize) -> Self {
        // Taps per phase: a multiple of 8 for the dot product's lanes.
        let taps = (TAPS * up.max(down)).div_ceil(up).next_multiple_of(8);
        let len = taps * up;
        let half_band = (up, down) == (2, 1);
        // Cutoff in cycles per sample at the interpolated rate L × from: the
        // input's Nyquist for a half-band filter.
        let fc = if half_band {
            0.25
        } else {
            CUTOFF * f64::from(from_hz.min(to_hz)) / (up as f64 * f64::from(from_hz))
        };
        // A half-band filter has odd length (the last tap of `len` stays
        // zero), so that its centre falls on a tap.
        let mid = if half_band {
            (len - 2) as f64 / 2.0
        } else {
            (len - 1) as f64 / 2.0
        };
        let proto: Vec<f64> = (0..len)
            .map(|k| {
                let x = k as f64 - mid;
                if x > mid {
                    return 0.0;
                }
                let sinc = if x == 0.0 {
                    2.0 * fc
                } else {
                    (2.0 * std::f64::consts::PI * fc * x).sin() / (std::f64::consts::PI * x)
                };
                let r = x / mid;
                sinc * bessel_i0(BETA * (1.0 - r * r).max(0.0).sqrt()) / bessel_i0(BETA)
            })
            .collect();
        let phases: Vec<Vec<f64>> = (0..up)
            .map(|p| {
                let phase: Vec<f64> = (0..taps).map(|j| proto[p + j * up]).collect();
                // Unit gain per phase: no DC ripple at the input rate.
                let sum: f64 = phase.iter().sum();
                phase.iter().map(|c| c / sum).collect()
            })
            .collect();
        // The largest scale at which |Σ c·x| stays below 2^31 for any input.
        let l1 = phases
            .iter()
            .map(|ph| ph.iter().map(|c| c.abs()).sum::<f64>())
            .fold(0.0, f64::max);
        let q = if l1 * 32768.0 * f64::from(1u32 << Q) < 0.99 * f64::from(i32::MAX) {
            Q
        } else {
            Q - 1
        };
        let mut coeffs = vec![0i16; len];
        for (p, phase) in phases.iter().enumerate() {
            for (k, c) in coeffs[p * taps..][..taps].iter_mut().enumerate() {
                let v = phase[taps - 1 - k] * f64::from(1u32 << q);
                *c = v.round().clamp(-32768.0, 32767.0) as i16;
            }
        }
        let copy_tap: Box<[Option<usize>]> = coeffs
            .chunks_exact(taps)
            .map(|phase| {
                let mut nonzero = phase.iter().enumerate().filter(|(_, c)| **c != 0);
                match (nonzero.next(), nonzero.next()) {
                    (Some((k, &c)), None) if i32::from(c) >= (1 << q) - 1 => Some(k),
                    _ => None,
                }
            })
            .collect();
        let half_band = match copy_tap.iter().position(Option::is_some) {
            Some(copy_phase) if (up, down) == (2, 1) && taps.is_multiple_of(4) => Some(HalfBand {
                copy_phase,
                copy_tap: copy_tap[copy_phase].unwrap_or_default(),
                acc: vec![0; n_in].into_boxed_slice(),
            }),
            _ => None,
        };
        Self {
            half_band,
            up,
            down,
            taps,
            coeffs: coeffs.into_boxed_slice(),
            buf: vec![0; taps - 1 + n_in].into_boxed_slice(),
            delay: (mid / down as f64).round() as usize,
            copy_tap,
            q,
        }
    }

    /// Output samples between a sound going in and coming out.
    pub(super) fn delay(&self) -> usize {
        self.delay
    }

    /// Resamples one frame: `input` is the frame length given to `new`,
    /// `output` exactly the matching output length.
    pub(super) fn process(&mut self, input: &[i16], output: &mut [i16]) {
        let n = input.len();
        self.buf[self.taps - 1..].copy_from_slice(input);
        match self.half_band.as_mut() {
            Some(h) => {
                let filtered = 1 - h.copy_phase;
                let c = &self.coeffs[filtered * self.taps..][..self.taps];
                convolve(&self.buf, c, &mut h.acc[..n]);
                let copied = &self.buf[h.copy_tap..][..n];
                for ((pair, &a), &x) in output.chunks_exact_mut(2).zip(h.acc.iter()).zip(copied) {
                    pair[filtered] = descale(a, self.q);
                    pair[h.copy_phase] = x;
                }
            }
            None => self.each_output(output),
        }
        self.buf.copy_within(n.., 0);
    }

    /// The general path: output by output, each phase's dot product (or
    /// copy) over the history and the frame in `buf`.
    fn each_output(&self, output: &mut [i16]) {
        // Input index and phase of each output, stepped without a division.
        let (mut i, mut p) = (0, 0);
        for o in output.iter_mut() {
            *o = match self.copy_tap[p] {
                Some(k) => self.buf[i + k],
                None => {
                    let x = &self.buf[i..i + self.taps];
                    let c = &self.coeffs[p * self.taps..][..self.taps];
                    descale(dot(x, c), self.q)
                }
            };
            p += self.down;
            while p >= self.up {
                p -= self.up;
                i += 1;
            }
        }
    }

    /// Clears the history (a new, unrelated stream).
    pub(super) fn reset(&mut self) {
        self.buf.fill(0);
    }
}

/// A Q`q` accumulator back to a sample: rounded, saturated.
fn descale(acc: i32, q: u32) -> i16 {
    ((acc + (1 << (q - 1))) >> q).clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16
}

/// Σ x·c over equal-length slices whose length is a multiple of 8, in eight
/// independent lanes so the compiler emits packed multiplies (SSE2).
/// |Σ c·x| ≤ 32768 · Σ|c| < 2^31 for these filters (tested below).
fn dot(x: &[i16], c: &[i16]) -> i32 {
    let mut acc = [0i32; 8];
    for (xs, cs) in x.chunks_exact(8).zip(c.chunks_exact(8)) {
        for (k, a) in acc.iter_mut().enumerate() {
            *a += i32::from(xs[k]) * i32::from(cs[k]);
        }
    }
    acc.iter().sum()
}

/// `y[j] = Σ_k c[k]·x[j + k]` for every `j` of `y`, four taps a pass over
/// `y` (`c`'s length is a multiple of four, `x` holds `y.len() + c.len() - 1`
/// samples). Same bound as [`dot`]: no accumulator can overflow.
fn convolve(x: &[i16], c: &[i16], y: &mut [i32]) {
    y.fill(0);
    let n = y.len();
    for (k4, cs) in c.chunks_exact(4).enumerate() {
        let k = k4 * 4;
        let (c0, c1, c2, c3) = (cs[0], cs[1], cs[2], cs[3]);
        let (x0, x1, x2, x3) = (
            &x[k..k + n],
            &x[k + 1..k + 1 + n],
            &x[k + 2..k + 2 + n],
            &x[k + 3..k + 3 + n],
        );
        for ((((o, &a), &b), &d), &e) in y.iter_mut().zip(x0).zip(x1).zip(x2).zip(x3) {
            *o += i32::from(c0) * i32::from(a)
                + i32::from(c1) * i32::from(b)
                + i32::from(c2) * i32::from(d)
                + i32::from(c3) * i32::from(e);
        }
    }
}

/// Modified Bessel function of the first kind, order 0 (series; converges
/// fast for the arguments a Kaiser window uses).
fn bessel_i0(x: f64) -> f64 {
    let (mut sum, mut term, mut k) = (1.0, 1.0, 1.0);
    while term > 1e-12 * sum {
        term *= (x / (2.0 * k)).powi(2);
        sum += term;
        k += 1.0;
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::super::signal::{goertzel_fraction, rms, tone};
    use super::super::{FrameResampler, SUPPORTED_RATES, frame_len};
    use super::*;

    #[test]
    fn accumulators_cannot_overflow_for_any_pair() {
        for &from in &SUPPORTED_RATES {
            for &to in &SUPPORTED_RATES {
                let Some((up, down)) = ratio(from, to) else {
                    continue;
                };
                let f = Fir::new(from, to, up, down, frame_len(from));
                for phase in f.coeffs.chunks_exact(f.taps) {
                    let l1: i64 = phase.iter().map(|&c| i64::from(c).abs()).sum();
                    // Worst case |Σ c·x| with x = -32768 everywhere, plus rounding.
                    assert!(l1 * 32768 + (1 << 14) < i64::from(i32::MAX), "{from}->{to}");
                }
            }
        }
    }

    /// Runs `n` frames of a tone through `from → to`; returns the last half.
    fn settle(from: u32, to: u32, freq: f64) -> Vec<i16> {
        let mut r = FrameResampler::new(from, to).unwrap();
        let (n_in, n_out) = (r.input_len(), r.output_len());
        let mut out = vec![0i16; n_out * 20];
        for f in 0..20 {
            let frame = tone(from, freq, 16384.0, f * n_in, n_in);
            r.process(&frame, &mut out[f * n_out..][..n_out]).unwrap();
        }
        out.split_off(n_out * 10)
    }

    #[test]
    fn doubling_the_rate_copies_every_other_sample_and_filters_the_rest() {
        let (up, down) = ratio(8000, 16000).unwrap();
        let mut f = Fir::new(8000, 16000, up, down, 160);
        let copied: Vec<usize> = f.copy_tap.iter().flatten().copied().collect();
        assert_eq!(
            copied.len(),
            1,
            "one phase of the half-band filter is a delay"
        );
        let p = f.copy_tap.iter().position(Option::is_some).unwrap();
        // Noise-like input: nothing a filter would pass unchanged.
        let x: Vec<i16> = (0..480u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 17) as i16)
            .collect();
        let mut y = vec![0i16; 960];
        for (xs, ys) in x.chunks_exact(160).zip(y.chunks_exact_mut(320)) {
            f.process(xs, ys);
        }
        let shift = f.taps - 1 - copied[0];
        for i in shift..480 {
            assert_eq!(y[2 * i + p], x[i - shift], "copied output {}", 2 * i + p);
        }
        // The other phase is filtered: not a copy of any input sample.
        let other = (shift..480)
            .filter(|&i| y[2 * i + 1 - p] != x[i - shift])
            .count();
        assert!(other > 400, "{other} of the other phase's outputs differ");
        // No other pair has a phase that is a pure delay.
        for &(from, to) in &[(16000, 8000), (8000, 24000), (24000, 8000), (16000, 48000)] {
            let (up, down) = ratio(from, to).unwrap();
            let g = Fir::new(from, to, up, down, frame_len(from));
            assert!(g.copy_tap.iter().all(Option::is_none), "{from}->{to}");
        }
    }

    #[test]
    fn the_half_band_fast_path_is_bit_exact_with_the_generic_one() {
        let (up, down) = ratio(8000, 16000).unwrap();
        let mut fast = Fir::new(8000, 16000, up, down, 160);
        let mut generic = Fir::new(8000, 16000, up, down, 160);
        assert!(fast.half_band.is_some());
        generic.half_band = None;
        // Noise at full scale, the extremes included: every accumulator
        // bound is exercised.
        let mut x: Vec<i16> = (0..1600u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 16) as i16)
            .collect();
        x[500..532].fill(i16::MIN);
        x[700..732].fill(i16::MAX);
        let (mut a, mut b) = (vec![0i16; 320], vec![0i16; 320]);
        for frame in x.chunks_exact(160) {
            fast.process(frame, &mut a);
            generic.process(frame, &mut b);
            assert_eq!(a, b);
        }
    }

    #[test]
    fn decimation_rejects_what_would_alias() {
        // 6 kHz at 24 kHz would fold to 2 kHz at 8 kHz.
        let out = settle(24000, 8000, 6000.0);
        let level = rms(&out) / (16384.0 / 2f64.sqrt());
        assert!(level < 0.01, "alias at {:.1} dB", 20.0 * level.log10());
    }

    #[test]
    fn interpolation_suppresses_the_image() {
        // 3 kHz at 8 kHz → 16 kHz: the image would sit at 5 kHz.
        let out = settle(8000, 16000, 3000.0);
        let image = goertzel_fraction(&out, 16000, 5000.0);
        assert!(image < 1e-4, "image holds {image} of the energy");
        assert!(goertzel_fraction(&out, 16000, 3000.0) > 0.99);
    }

    #[test]
    fn an_impulse_comes_out_after_the_reported_delay() {
        let mut r = FrameResampler::new(8000, 16000).unwrap();
        let mut input = [0i16; 160];
        input[0] = 16384;
        let mut out = [0i16; 320];
        r.process(&input, &mut out).unwrap();
        let peak = (0..320).max_by_key(|&i| out[i].unsigned_abs()).unwrap();
        assert!(
            peak.abs_diff(r.delay()) <= 1,
            "peak {peak}, delay {}",
            r.delay()
        );
    }
}
