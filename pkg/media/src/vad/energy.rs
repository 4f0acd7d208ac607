//! Energy detector: frame level against an adaptive noise floor.

use std::time::Duration;

use super::FrameClassifier;

/// Thresholds of the [`EnergyClassifier`]. Levels are in dBFS: frame RMS
/// relative to `i16::MAX` (a full-scale sine is about -3 dBFS).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EnergyConfig {
    /// A frame is speech when this many dB above the noise floor...
    pub threshold_db: f32,
    /// ...and above this absolute level, so that near-digital silence with a
    /// very low floor does not count as speech.
    pub min_speech_dbfs: f32,
    /// Noise floor assumed before anything is heard.
    pub initial_floor_dbfs: f32,
    /// The floor never goes below this.
    pub min_floor_dbfs: f32,
    /// Time constant for the floor to rise toward a louder level: slow, so
    /// speech barely moves it, yet steady noise is learnt within seconds.
    pub floor_rise: Duration,
    /// Time constant for the floor to fall toward a quieter level: fast.
    pub floor_fall: Duration,
}

impl Default for EnergyConfig {
    fn default() -> Self {
        Self {
            threshold_db: 12.0,
            min_speech_dbfs: -50.0,
            initial_floor_dbfs: -65.0,
            min_floor_dbfs: -80.0,
            floor_rise: Duration::from_secs(4),
            floor_fall: Duration::from_millis(100),
        }
    }
}

/// Classifies by level: speech when well above the noise floor learnt so far.
#[derive(Debug, Clone)]
pub struct EnergyClassifier {
    config: EnergyConfig,
    floor_dbfs: f32,
}

impl EnergyClassifier {
    /// A classifier starting at `config.initial_floor_dbfs`.
    pub fn new(config: EnergyConfig) -> Self {
        Self {
            floor_dbfs: config.initial_floor_dbfs,
            config,
        }
    }

    /// The current noise floor estimate, in dBFS.
    pub fn noise_floor_dbfs(&self) -> f32 {
        self.floor_dbfs
    }
}

/// RMS level of `pcm` in dBFS; -100 for an empty or all-zero frame.
pub(crate) fn level_dbfs(pcm: &[i16]) -> f32 {
    if pcm.is_empty() {
        return -100.0;
    }
    let mean = crate::level::mean_square(pcm) / (f64::from(i16::MAX) * f64::from(i16::MAX));
    if mean <= 1e-10 {
        -100.0
    } else {
        (10.0 * mean.log10()) as f32
    }
}

impl FrameClassifier for EnergyClassifier {
    fn is_speech(&mut self, pcm: &[i16], sample_rate: u32) -> bool {
        let level = level_dbfs(pcm);
        let c = &self.config;
        let speech = level >= self.floor_dbfs + c.threshold_db && level >= c.min_speech_dbfs;
        // First-order tracking with per-frame weight frame/τ: the frame length
        // comes from the sample count, so 8 and 16 kHz adapt alike.
        let frame = pcm.len() as f32 / sample_rate.max(1) as f32;
        let tau = if level > self.floor_dbfs {
            c.floor_rise
        } else {
            c.floor_fall
        };
        let alpha = (frame / tau.as_secs_f32().max(1e-3)).min(1.0);
        self.floor_dbfs =
            (self.floor_dbfs + alpha * (level - self.floor_dbfs)).max(c.min_floor_dbfs);
        speech
    }

    fn reset(&mut self) {
        self.floor_dbfs = self.config.initial_floor_dbfs;
    }

    /// A gap is quiet, at a level unknown but below whatever made the sender
    /// stop: the floor falls (never rises) toward the initial assumption, at
    /// the falling time constant. Otherwise speech would be the only thing
    /// the floor ever hears, and after a few seconds of it (about six short
    /// answers) speech would sit under the threshold and the call go deaf.
    fn silence(&mut self, gap: Duration) {
        let c = &self.config;
        if self.floor_dbfs <= c.initial_floor_dbfs {
            return;
        }
        let keep = (-gap.as_secs_f32() / c.floor_fall.as_secs_f32().max(1e-3)).exp();
        self.floor_dbfs = c.initial_floor_dbfs + keep * (self.floor_dbfs - c.initial_floor_dbfs);
    }
}
