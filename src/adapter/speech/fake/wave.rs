//! A speech-like test signal and the energy measure the fake STT listens with.

use std::collections::HashMap;
use std::f64::consts::TAU;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
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
///
/// A letter's sound depends only on its pitch (seven of them), the rate and
/// the length: the envelope is zero at both ends, so each letter may start at
/// phase zero. The seven sounds are computed once per rate and length and then
/// copied: a load test with thousands of fake voices measures the gateway,
/// not `sin`.
pub fn synthesize(text: &str, sample_rate: u32, per_char: Duration) -> Vec<i16> {
    let per_char = (per_char.as_secs_f64() * f64::from(sample_rate)).round() as usize;
    let voices = letter_sounds(sample_rate, per_char);
    let mut out = Vec::with_capacity(per_char * text.chars().count());
    for c in text.chars() {
        if c.is_alphanumeric() {
            out.extend_from_slice(&voices[(u32::from(c) % PITCHES) as usize]);
        } else {
            out.resize(out.len() + per_char, 0);
        }
    }
    out
}

/// Number of distinct letter pitches.
const PITCHES: u32 = 7;

type Sounds = Arc<Vec<Vec<i16>>>;

/// The seven letter sounds for `(rate, samples per letter)`, cached.
fn letter_sounds(sample_rate: u32, per_char: usize) -> Sounds {
    static CACHE: OnceLock<Mutex<HashMap<(u32, usize), Sounds>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Mutex::default);
    let mut cache = cache.lock().unwrap_or_else(PoisonError::into_inner);
    Arc::clone(cache.entry((sample_rate, per_char)).or_insert_with(|| {
        Arc::new(
            (0..PITCHES)
                .map(|p| letter(p, sample_rate, per_char))
                .collect(),
        )
    }))
}

/// One letter of pitch number `p`.
fn letter(p: u32, sample_rate: u32, per_char: usize) -> Vec<i16> {
    let rate = f64::from(sample_rate);
    let f0 = 110.0 + f64::from(p) * 10.0;
    let norm: f64 = HARMONICS.iter().sum();
    (0..per_char)
        .map(|i| {
            let t = i as f64 / rate;
            let envelope = 0.5 - 0.5 * (TAU * i as f64 / per_char as f64).cos();
            let voiced: f64 = HARMONICS
                .iter()
                .enumerate()
                .map(|(k, w)| w * (TAU * f0 * (k + 1) as f64 * t).sin())
                .sum();
            (AMPLITUDE * envelope * voiced / norm) as i16
        })
        .collect()
}

pub use ::media::level::rms;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_are_voiced_gaps_are_silent_and_sounds_repeat() {
        let ms = Duration::from_millis(60);
        let pcm = synthesize("ab h", 8_000, ms);
        let n = 480;
        assert_eq!(pcm.len(), 4 * n);
        let (a, b) = (&pcm[..n], &pcm[n..2 * n]);
        let (gap, h) = (&pcm[2 * n..3 * n], &pcm[3 * n..]);
        assert!(rms(a) > 2_000.0 && rms(b) > 2_000.0, "audible");
        assert!(gap.iter().all(|s| *s == 0), "a space is silence");
        // 'a' (97) and 'h' (104) share a pitch: the same sound, from the cache.
        assert_eq!(a, h);
        assert_ne!(a, b);
        // The envelope starts and ends at zero, so letters join without a click.
        assert!(a[0] == 0 && a[n - 1].abs() < 100, "{} {}", a[0], a[n - 1]);
        assert_eq!(synthesize("ab h", 8_000, ms), pcm);
    }
}
