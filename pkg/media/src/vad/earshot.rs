//! Trained detector: `earshot`, a small neural VAD in pure Rust.
//!
//! # Why earshot and not webrtc-vad
//! - Accuracy: earshot is a recent (2025) mel-feature neural model that its
//!   authors measure above Silero VAD v6; `webrtc-vad` wraps the 2011 GMM
//!   detector from WebRTC, known for false positives on noise.
//! - Maintained: earshot 1.x is current; the `webrtc-vad` crate (0.4) has
//!   not had a release in years and builds C sources through `cc`.
//! - No C toolchain, no FFI; our code stays free of `unsafe` either way.
//! - Cost: ~8 KiB of state per detector and a few µs per 16 ms chunk.
//!
//! The model takes exactly 256 samples (16 ms) at 16 kHz. Our frames are 20 ms
//! at 8 or 16 kHz, so 8 kHz audio is doubled by linear interpolation (the
//! model's mel bands above 4 kHz then see nothing, as on a phone line) and
//! samples are re-chunked through a fixed buffer: a 20 ms frame completes one
//! chunk, sometimes two, and is speech if any of them scores above threshold.

use ::earshot::Detector;

use super::FrameClassifier;

/// Samples the model takes per call (16 ms at 16 kHz).
const CHUNK: usize = 256;

/// Threshold of the [`EarshotClassifier`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EarshotConfig {
    /// Score in `[0, 1]` above which a chunk is speech (earshot suggests 0.5).
    pub threshold: f32,
}

impl Default for EarshotConfig {
    fn default() -> Self {
        Self { threshold: 0.5 }
    }
}

/// Classifies frames with the earshot model.
pub struct EarshotClassifier {
    config: EarshotConfig,
    detector: Box<Detector>,
    chunk: [i16; CHUNK],
    filled: usize,
    /// Last input sample at 8 kHz, to interpolate across frame edges.
    prev: i16,
    last_score: f32,
}

impl std::fmt::Debug for EarshotClassifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EarshotClassifier")
            .field("config", &self.config)
            .field("last_score", &self.last_score)
            .finish_non_exhaustive()
    }
}

impl EarshotClassifier {
    /// A classifier with its model state allocated once, here.
    pub fn new(config: EarshotConfig) -> Self {
        Self {
            config,
            detector: Detector::default_boxed(),
            chunk: [0; CHUNK],
            filled: 0,
            prev: 0,
            last_score: 0.0,
        }
    }

    /// The model's score for the last chunk completed.
    pub fn last_score(&self) -> f32 {
        self.last_score
    }

    /// Adds one 16 kHz sample; returns the score when it completes a chunk.
    fn push(&mut self, sample: i16) -> Option<f32> {
        self.chunk[self.filled] = sample;
        self.filled += 1;
        if self.filled < CHUNK {
            return None;
        }
        self.filled = 0;
        self.last_score = self.detector.predict_i16(&self.chunk);
        Some(self.last_score)
    }
}

impl FrameClassifier for EarshotClassifier {
    fn is_speech(&mut self, pcm: &[i16], sample_rate: u32) -> bool {
        let mut best: Option<f32> = None;
        let mut keep = |score: Option<f32>| {
            if let Some(s) = score {
                best = Some(best.map_or(s, |b| b.max(s)));
            }
        };
        if sample_rate == 8000 {
            for &s in pcm {
                let mid = ((i32::from(self.prev) + i32::from(s)) / 2) as i16;
                self.prev = s;
                keep(self.push(mid));
                keep(self.push(s));
            }
        } else {
            for &s in pcm {
                keep(self.push(s));
            }
        }
        // A frame too short to complete a chunk keeps the previous verdict.
        best.unwrap_or(self.last_score) >= self.config.threshold
    }

    fn reset(&mut self) {
        self.detector.reset();
        self.filled = 0;
        self.prev = 0;
        self.last_score = 0.0;
    }
}
