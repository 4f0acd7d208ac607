//! Test signals and measurements shared by the resampler and codec tests.

use std::f64::consts::PI;

/// `n` samples of a sine at `freq` Hz, amplitude `amp`, starting at sample `start`.
pub(crate) fn tone(rate: u32, freq: f64, amp: f64, start: usize, n: usize) -> Vec<i16> {
    (start..start + n)
        .map(|i| (amp * (2.0 * PI * freq * i as f64 / f64::from(rate)).sin()).round() as i16)
        .collect()
}

pub(crate) use crate::level::rms;

/// Level difference in dB between two RMS values.
pub(crate) fn db(a: f64, b: f64) -> f64 {
    20.0 * (a / b).log10()
}

/// Frequency estimated from rising zero crossings, linearly interpolated
/// between the first and last one.
pub(crate) fn zero_crossing_freq(x: &[i16], rate: u32) -> f64 {
    let mut crossings = Vec::new();
    for i in 1..x.len() {
        let (a, b) = (f64::from(x[i - 1]), f64::from(x[i]));
        if a < 0.0 && b >= 0.0 {
            crossings.push(i as f64 - 1.0 + (-a) / (b - a));
        }
    }
    let (first, last) = (crossings[0], crossings[crossings.len() - 1]);
    (crossings.len() - 1) as f64 * f64::from(rate) / (last - first)
}

/// Fraction of the signal's energy that a Goertzel filter finds at `freq`.
pub(crate) fn goertzel_fraction(x: &[i16], rate: u32, freq: f64) -> f64 {
    let w = 2.0 * PI * freq / f64::from(rate);
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for &v in x {
        let s = f64::from(v) + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    let energy: f64 = x.iter().map(|&v| f64::from(v).powi(2)).sum();
    // A pure tone over N samples gives power = energy * N / 2.
    2.0 * power / (energy * x.len() as f64)
}

/// Largest |second difference|: a click or frame-edge discontinuity shows up
/// here far above what a smooth tone produces.
pub(crate) fn max_second_diff(x: &[i16]) -> f64 {
    x.windows(3)
        .map(|w| (f64::from(w[0]) - 2.0 * f64::from(w[1]) + f64::from(w[2])).abs())
        .fold(0.0, f64::max)
}
