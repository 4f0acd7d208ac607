//! A speech-like test signal and the energy measure the fake STT listens with.

use std::f64::consts::TAU;
use std::time::Duration;

/// Bound on a voiced segment's peak; the harmonics seldom align, so typical
/// peaks sit near -10 dBFS: clearly audible, far above any VAD's noise floor.
const AMPLITUDE: f64 = 20_000.0;

/// Relative strengths of the first harmonics: a falling spectrum with a bump
/// near the third, roughly a vowel's first formants.
const HARMONICS: [f64; 6] = [1.0, 0.7, 0.8, 0.4, 0.25, 0.15];

/// Synthesises `text` at `sample_rate`: each letter or digit becomes `per_char`
/// of a voiced sound (a pitch between 110 and 170 Hz with harmonics, under a
/// raised-cosine envelope); spaces and punctuation become silence, so word
/// gaps are real gaps.
pub fn synthesize(text: &str, sample_rate: u32, per_char: Duration) -> Vec<i16> {
    let rate = f64::from(sample_rate);
    let per_char = (per_char.as_secs_f64() * rate).round() as usize;
    let mut out = Vec::with_capacity(per_char * text.chars().count());
    for c in text.chars() {
        let start = out.len();
        if !c.is_alphanumeric() {
            out.resize(start + per_char, 0);
            continue;
        }
        let f0 = 110.0 + f64::from(u32::from(c) % 7) * 10.0;
        for i in 0..per_char {
            // Phase from the running sample count keeps letters continuous.
            let t = (start + i) as f64 / rate;
            let envelope = 0.5 - 0.5 * (TAU * i as f64 / per_char as f64).cos();
            let voiced: f64 = HARMONICS
                .iter()
                .enumerate()
                .map(|(k, w)| w * (TAU * f0 * (k + 1) as f64 * t).sin())
                .sum();
            let norm: f64 = HARMONICS.iter().sum();
            out.push((AMPLITUDE * envelope * voiced / norm) as i16);
        }
    }
    out
}

/// Root mean square of a frame (0 for an empty one).
pub fn rms(pcm: &[i16]) -> f64 {
    if pcm.is_empty() {
        return 0.0;
    }
    let sum: f64 = pcm.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    (sum / pcm.len() as f64).sqrt()
}
