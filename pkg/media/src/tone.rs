//! Steady-tone detection: the beep of an answering machine.
//!
//! Each 20 ms frame is measured against a bank of Goertzel filters from
//! [`ToneConfig::min_hz`] to [`ToneConfig::max_hz`] every 10 Hz (only the
//! few around the pitch its zero crossings give are run). A frame is
//! *tonal* when one filter holds at least [`ToneConfig::purity`] of the
//! frame's energy (a pure sine at a filter's frequency holds all of it; a
//! voice spreads its energy over its harmonics and formants) and the frame
//! is loud enough. A tone is reported once it ends, if it lasted at least
//! [`ToneConfig::min_duration`] on one frequency (±1 filter: a beep's pitch
//! is steady, a voice's glides).
//!
//! No allocation after [`ToneDetector::new`]: the filter coefficients are
//! computed once, each frame is a pass of multiply-adds per filter. It is
//! meant for the few seconds of a screening, not for a whole call.

use std::time::{Duration, Instant};

/// Spacing of the filters: at most 5 Hz from any tone, where a 20 ms
/// filter still holds about 97 % of a pure sine's energy.
const STEP_HZ: f32 = 10.0;
/// Filters at most: 100 Hz to 4 kHz every 25 Hz.
const MAX_FILTERS: usize = 400;
/// One frame.
const FRAME: Duration = Duration::from_millis(20);
/// Filters each side of the zero-crossing pitch that are run: a crossing
/// more or less in 20 ms is 25 Hz.
const SEARCH: usize = 4;
/// A tone's frames may differ by this many filters (its pitch is steady;
/// the best filter of a frame is within 5 Hz of it).
const STEADY: usize = 2;

/// What counts as a tone.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ToneConfig {
    /// Lowest frequency listened for (above a voice's fundamental).
    pub min_hz: f32,
    /// Highest frequency listened for (below the 8 kHz line's 4 kHz).
    pub max_hz: f32,
    /// Share of a frame's energy one filter must hold (0..=1).
    pub purity: f32,
    /// Lowest RMS level of a tonal frame (of 32767).
    pub min_level: f32,
    /// Shortest tone reported.
    pub min_duration: Duration,
}

impl Default for ToneConfig {
    /// 400-2,600 Hz (the beeps of answering machines and voicemail: 440,
    /// 850, 1,000, 1,400 Hz…), 90 % of the energy, −40 dBFS, 150 ms. A
    /// steady sung or synthesised vowel can put 70 % of its energy in one
    /// harmonic for a while; a beep puts nearly all of it in one.
    fn default() -> Self {
        Self {
            min_hz: 400.0,
            max_hz: 2600.0,
            purity: 0.9,
            min_level: 328.0,
            min_duration: Duration::from_millis(150),
        }
    }
}

/// A steady tone heard, reported when it ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tone {
    /// Start of its first frame.
    pub start: Instant,
    /// End of its last frame.
    pub end: Instant,
    /// Its frequency, to the nearest filter.
    pub hz: f32,
}

/// Why a [`ToneDetector`] cannot be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ToneError {
    /// The band is empty, outside the sample rate's range, or wider than
    /// the filter bank.
    #[error("tone band does not fit the sample rate")]
    Band,
}

/// The run of tonal frames in progress.
#[derive(Debug, Clone, Copy)]
struct Run {
    start: Instant,
    end: Instant,
    filter: usize,
    frames: u32,
}

/// Goertzel filter bank over 20 ms frames; see the module docs.
#[derive(Debug)]
pub struct ToneDetector {
    config: ToneConfig,
    rate: u32,
    /// `2 cos(2π f / rate)` of each filter.
    coeffs: [f32; MAX_FILTERS],
    filters: usize,
    run: Option<Run>,
}

impl ToneDetector {
    /// A detector for frames of PCM at `rate` Hz.
    pub fn new(config: ToneConfig, rate: u32) -> Result<Self, ToneError> {
        let nyquist = rate as f32 / 2.0;
        if !(config.min_hz > 0.0 && config.min_hz < config.max_hz && config.max_hz < nyquist) {
            return Err(ToneError::Band);
        }
        let filters = ((config.max_hz - config.min_hz) / STEP_HZ) as usize + 1;
        if filters > MAX_FILTERS {
            return Err(ToneError::Band);
        }
        let mut coeffs = [0.0; MAX_FILTERS];
        for (i, c) in coeffs.iter_mut().take(filters).enumerate() {
            let hz = config.min_hz + STEP_HZ * i as f32;
            *c = 2.0 * (std::f32::consts::TAU * hz / rate as f32).cos();
        }
        Ok(Self {
            config,
            rate,
            coeffs,
            filters,
            run: None,
        })
    }

    /// The sample rate it was built for.
    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// Takes the frame starting at `at`; returns a tone that ended just
    /// before it.
    pub fn push(&mut self, at: Instant, pcm: &[i16]) -> Option<Tone> {
        let end = at + FRAME;
        match (self.tonal(pcm), self.run) {
            (Some(f), Some(run)) if f.abs_diff(run.filter) <= STEADY && run.end + FRAME >= at => {
                self.run = Some(Run {
                    end,
                    frames: run.frames + 1,
                    ..run
                });
                None
            }
            (tonal, _) => {
                let ended = self.take_run();
                self.run = tonal.map(|filter| Run {
                    start: at,
                    end,
                    filter,
                    frames: 1,
                });
                ended
            }
        }
    }

    /// Ends a tone in progress (the audio stopped); reports it if long enough.
    pub fn finish(&mut self) -> Option<Tone> {
        self.take_run()
    }

    /// When a tone in progress counts as ended if no frame comes: the line
    /// may go quiet after a beep, and a quiet line sends no packets.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.run.map(|r| r.end + 2 * FRAME)
    }

    /// Ends a tone whose frames stopped coming by `now`; reports it if long
    /// enough.
    pub fn handle_timeout(&mut self, now: Instant) -> Option<Tone> {
        if self.poll_timeout().is_some_and(|t| t <= now) {
            self.take_run()
        } else {
            None
        }
    }

    fn take_run(&mut self) -> Option<Tone> {
        let run = self.run.take()?;
        (FRAME * run.frames >= self.config.min_duration).then_some(Tone {
            start: run.start,
            end: run.end,
            hz: self.config.min_hz + STEP_HZ * run.filter as f32,
        })
    }

    /// The filter holding at least `purity` of the frame's energy, if the
    /// frame is loud enough. A pure tone's zero crossings give its pitch to
    /// within a filter or so: only the filters around that pitch are run.
    fn tonal(&self, pcm: &[i16]) -> Option<usize> {
        let n = pcm.len();
        if n == 0 {
            return None;
        }
        let energy: f32 = pcm.iter().map(|&s| f32::from(s) * f32::from(s)).sum();
        if energy / (n as f32) < self.config.min_level * self.config.min_level {
            return None;
        }
        let crossings = pcm.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
        let hz = crossings as f32 * self.rate as f32 / (2.0 * n as f32);
        let centre = ((hz - self.config.min_hz) / STEP_HZ).round();
        if centre < -(SEARCH as f32) || centre > (self.filters + SEARCH) as f32 {
            return None;
        }
        let centre = centre.max(0.0) as usize;
        let lo = centre.saturating_sub(SEARCH);
        let hi = (centre + SEARCH + 1).min(self.filters);
        let (best, power) = (lo..hi)
            .map(|i| (i, goertzel_power(self.coeffs[i], pcm)))
            .fold((0, 0.0f32), |b, (i, p)| if p > b.1 { (i, p) } else { b });
        // A sine of amplitude A over n samples: |X|² = (nA/2)², energy nA²/2.
        let share = 2.0 * power / (n as f32 * energy);
        (share >= self.config.purity).then_some(best)
    }
}

/// |X(f)|² of one Goertzel filter (`coeff = 2 cos ω`) over `pcm`.
fn goertzel_power(coeff: f32, pcm: &[i16]) -> f32 {
    let (mut s1, mut s2) = (0.0f32, 0.0f32);
    for &x in pcm {
        let s0 = f32::from(x) + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    s1 * s1 + s2 * s2 - coeff * s1 * s2
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(hz: f32, rate: u32, samples: usize, offset: usize, amp: f32) -> Vec<i16> {
        (offset..offset + samples)
            .map(|i| (amp * (std::f32::consts::TAU * hz * i as f32 / rate as f32).sin()) as i16)
            .collect()
    }

    /// Feeds `secs` of `signal(sample_index)` in 20 ms frames; returns the tones.
    fn run(rate: u32, ms: usize, signal: impl Fn(usize) -> i16) -> Vec<Tone> {
        let mut d = ToneDetector::new(ToneConfig::default(), rate).unwrap();
        let n = rate as usize / 50;
        let t0 = Instant::now();
        let mut tones = Vec::new();
        for f in 0..ms / 20 {
            let frame: Vec<i16> = (f * n..(f + 1) * n).map(&signal).collect();
            tones.extend(d.push(t0 + FRAME * f as u32, &frame));
        }
        tones.extend(d.finish());
        tones
    }

    #[test]
    fn a_beep_between_silences_is_one_tone_at_its_pitch() {
        for (rate, hz) in [
            (8000, 1000.0),
            (16000, 1000.0),
            (8000, 440.0),
            (8000, 1412.0),
        ] {
            let tones = run(rate, 1000, |i| {
                let t = i as f32 / rate as f32;
                if (0.3..0.7).contains(&t) {
                    sine(hz, rate, 1, i, 8000.0)[0]
                } else {
                    0
                }
            });
            assert_eq!(tones.len(), 1, "{rate} Hz, {hz} Hz: {tones:?}");
            let tone = tones[0];
            assert!((tone.hz - hz).abs() <= 10.0, "{rate}/{hz}: {tone:?}");
            let length = tone.end - tone.start;
            assert!(
                length >= Duration::from_millis(380) && length <= Duration::from_millis(420),
                "{length:?}"
            );
        }
    }

    #[test]
    fn a_voiced_sound_with_harmonics_is_not_a_tone() {
        // A 220 Hz voice with its harmonics, gliding in pitch like speech.
        let rate = 8000;
        let tones = run(rate, 2000, |i| {
            let t = i as f32 / rate as f32;
            let f0 = 180.0 + 60.0 * (t * 3.0).sin();
            let phase = std::f32::consts::TAU * f0 * t;
            (4000.0 * phase.sin()
                + 3000.0 * (2.0 * phase).sin()
                + 2500.0 * (3.0 * phase).sin()
                + 1500.0 * (4.0 * phase).sin()) as i16
        });
        assert!(tones.is_empty(), "{tones:?}");
    }

    #[test]
    fn a_steady_vowel_with_one_strong_harmonic_is_not_a_tone() {
        // A flat 150 Hz voice (a synthetic "oh") whose formant puts about
        // 75 % of the energy in its fourth harmonic, at 600 Hz.
        let rate = 8000;
        let tones = run(rate, 1000, |i| {
            let phase = std::f32::consts::TAU * 150.0 * i as f32 / rate as f32;
            (1500.0 * phase.sin()
                + 1500.0 * (2.0 * phase).sin()
                + 1500.0 * (3.0 * phase).sin()
                + 6000.0 * (4.0 * phase).sin()
                + 1000.0 * (5.0 * phase).sin()) as i16
        });
        assert!(tones.is_empty(), "{tones:?}");
    }

    #[test]
    fn noise_and_quiet_tones_and_blips_are_not_tones() {
        let rate = 8000;
        // White noise from a fixed LCG.
        let noise = run(rate, 1000, |i| {
            let x = (i as u32).wrapping_mul(1_103_515_245).wrapping_add(12_345);
            ((x >> 16) as i16) / 4
        });
        assert!(noise.is_empty(), "{noise:?}");
        // −60 dBFS: below the floor.
        let quiet = run(rate, 1000, |i| sine(1000.0, rate, 1, i, 30.0)[0]);
        assert!(quiet.is_empty(), "{quiet:?}");
        // 60 ms: too short.
        let blip = run(rate, 1000, |i| {
            if (400..880).contains(&i) {
                sine(1000.0, rate, 1, i, 8000.0)[0]
            } else {
                0
            }
        });
        assert!(blip.is_empty(), "{blip:?}");
    }

    #[test]
    fn two_beeps_of_different_pitch_are_two_tones() {
        let rate = 8000;
        let tones = run(rate, 1000, |i| {
            let t = i as f32 / rate as f32;
            let hz = if t < 0.5 { 850.0 } else { 1400.0 };
            sine(hz, rate, 1, i, 8000.0)[0]
        });
        assert_eq!(tones.len(), 2, "{tones:?}");
        assert!((tones[0].hz - 850.0).abs() <= 10.0 && (tones[1].hz - 1400.0).abs() <= 10.0);
    }

    #[test]
    fn a_tone_whose_frames_stop_ends_on_the_clock() {
        let rate = 8000;
        let mut d = ToneDetector::new(ToneConfig::default(), rate).unwrap();
        let t0 = Instant::now();
        for f in 0..10u32 {
            let frame = sine(1000.0, rate, 160, f as usize * 160, 8000.0);
            assert_eq!(d.push(t0 + FRAME * f, &frame), None);
        }
        let due = d.poll_timeout().expect("a tone in progress");
        assert_eq!(due, t0 + FRAME * 12);
        assert_eq!(d.handle_timeout(due - Duration::from_millis(1)), None);
        let tone = d
            .handle_timeout(due)
            .expect("the tone, once its frames stopped");
        assert_eq!((tone.start, tone.end), (t0, t0 + FRAME * 10));
        assert_eq!(d.poll_timeout(), None);
    }

    #[test]
    fn a_band_that_does_not_fit_is_refused() {
        let wide = ToneConfig {
            max_hz: 4000.0,
            ..ToneConfig::default()
        };
        assert_eq!(ToneDetector::new(wide, 8000).unwrap_err(), ToneError::Band);
        let empty = ToneConfig {
            min_hz: 1000.0,
            max_hz: 900.0,
            ..ToneConfig::default()
        };
        assert_eq!(
            ToneDetector::new(empty, 16000).unwrap_err(),
            ToneError::Band
        );
        assert!(ToneDetector::new(ToneConfig::default(), 16000).is_ok());
    }
}
