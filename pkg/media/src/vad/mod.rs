//! Voice activity detection on 20 ms frames of 8 or 16 kHz PCM.
//!
//! One trait, [`VoiceActivityDetector`], and one implementation, [`Vad`], that
//! wraps a per-frame [`FrameClassifier`] in the same onset and hangover logic:
//! - [`EnergyVad`]: signal energy against an adaptive noise floor; cheap, no
//!   model, fooled by loud non-speech sounds.
//! - [`EarshotVad`]: the `earshot` neural detector (see [`EarshotClassifier`] for
//!   why this one).
//!
//! # Driving it
//! - [`VoiceActivityDetector::handle_frame`] with each decoded frame and its time
//!   (the jitter buffer's playout time).
//! - Asterisk sends nothing while the caller is silent, so frames simply stop:
//!   sleep until [`VoiceActivityDetector::poll_timeout`] and call
//!   [`VoiceActivityDetector::handle_timeout`] so speech ends on the clock.
//! - Drain [`VoiceActivityDetector::poll_event`] after either call.

mod earshot;
mod energy;
mod hangover;
#[cfg(test)]
mod tests;

use std::time::{Duration, Instant};

pub use self::earshot::{EarshotClassifier, EarshotConfig};
pub use energy::{EnergyClassifier, EnergyConfig};
use hangover::Hangover;

/// A change between silence and speech.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VadEvent {
    /// Speech began: `at` is the start of the first frame of the onset run.
    SpeechStart {
        /// Start time of the first speech frame.
        at: Instant,
    },
    /// Speech paused: `pause` has passed since the last speech frame (`at`,
    /// its end), less than the hangover. Speech may go on (another
    /// `SpeechStart` then) or end (`SpeechEnd` with the same `at`). A
    /// recogniser that decodes per utterance can start on the audio so far.
    SpeechPause {
        /// End time of the last speech frame.
        at: Instant,
    },
    /// Speech ended: `at` is the end of the last speech frame, reported once the
    /// hangover has passed without another.
    SpeechEnd {
        /// End time of the last speech frame.
        at: Instant,
    },
}

/// Onset and hangover, shared by every classifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VadConfig {
    /// Consecutive speech frames needed to declare speech: fewer false starts
    /// on clicks, at `onset_frames × 20 ms` of barge-in latency.
    pub onset_frames: u32,
    /// Time without a speech frame after which speech has ended. Measured on the
    /// clock, not in frames: during silence Asterisk sends no frames at all.
    pub hangover: Duration,
    /// Quiet time after which a [`VadEvent::SpeechPause`] is reported while
    /// speech goes on (at most once per quiet run); none when not below
    /// `hangover`.
    pub pause: Duration,
}

impl Default for VadConfig {
    /// 3 frames (60 ms, within the 150 ms barge-in budget), 300 ms hangover,
    /// a pause after 160 ms (longer than most gaps between words).
    fn default() -> Self {
        Self {
            onset_frames: 3,
            hangover: Duration::from_millis(300),
            pause: Duration::from_millis(160),
        }
    }
}

/// Sans-IO voice activity detector. See the [module docs](self).
pub trait VoiceActivityDetector {
    /// Classifies one frame of mono PCM at `sample_rate` (8000 or 16000 Hz)
    /// that starts at `at`. Frames should arrive in time order.
    fn handle_frame(&mut self, at: Instant, pcm: &[i16], sample_rate: u32);
    /// Lets time pass without frames: ends speech once the hangover has run out.
    fn handle_timeout(&mut self, now: Instant);
    /// When [`VoiceActivityDetector::handle_timeout`] has something to do; `None`
    /// outside speech.
    fn poll_timeout(&self) -> Option<Instant>;
    /// The next event, oldest first.
    fn poll_event(&mut self) -> Option<VadEvent>;
    /// True between a speech start and its end.
    fn is_speech(&self) -> bool;
    /// Forgets everything (new stream); pending events are dropped.
    fn reset(&mut self);
}

/// Decides whether one frame holds speech. Stateful: classifiers adapt.
pub trait FrameClassifier {
    /// True if `pcm` (mono, `sample_rate` Hz) sounds like speech.
    fn is_speech(&mut self, pcm: &[i16], sample_rate: u32) -> bool;
    /// Forgets what was learnt about the stream.
    fn reset(&mut self);
    /// No frames came for `gap`: the sender suppressed its silence (Asterisk
    /// in a two-party bridge, a phone with DTX). Classifiers that learn the
    /// background from quiet frames learn it from this instead; without it
    /// a caller heard only while talking looks like a line full of speech.
    fn silence(&mut self, gap: Duration) {
        let _ = gap;
    }
}

/// A [`FrameClassifier`] with onset and hangover around it.
#[derive(Debug)]
pub struct Vad<C> {
    classifier: C,
    hangover: Hangover,
    /// End of the last frame classified: a later frame starting well after it
    /// follows a gap the sender filled with nothing.
    last_end: Option<Instant>,
}

/// Energy detector with an adaptive noise floor.
pub type EnergyVad = Vad<EnergyClassifier>;
/// Neural detector (`earshot`).
pub type EarshotVad = Vad<EarshotClassifier>;

impl<C: FrameClassifier> Vad<C> {
    /// Wraps `classifier` with the onset and hangover of `config`.
    pub fn with_classifier(config: VadConfig, classifier: C) -> Self {
        Self {
            classifier,
            hangover: Hangover::new(config),
            last_end: None,
        }
    }

    /// The classifier inside, e.g. to read the energy detector's noise floor.
    pub fn classifier(&self) -> &C {
        &self.classifier
    }
}

impl EnergyVad {
    /// An energy detector.
    pub fn new(config: VadConfig, energy: EnergyConfig) -> Self {
        Self::with_classifier(config, EnergyClassifier::new(energy))
    }
}

impl EarshotVad {
    /// A neural detector; allocates its ~8 KiB of state once, here.
    pub fn new(config: VadConfig, earshot: EarshotConfig) -> Self {
        Self::with_classifier(config, EarshotClassifier::new(earshot))
    }
}

impl<C: FrameClassifier> VoiceActivityDetector for Vad<C> {
    fn handle_frame(&mut self, at: Instant, pcm: &[i16], sample_rate: u32) {
        let rate = u64::from(sample_rate.max(1));
        let len = Duration::from_nanos(pcm.len() as u64 * 1_000_000_000 / rate);
        if let Some(end) = self.last_end {
            let gap = at.saturating_duration_since(end);
            // Playout times of one talkspurt follow each other exactly; half a
            // frame of slack keeps rounding from counting as a gap.
            if gap > len / 2 {
                self.classifier.silence(gap);
            }
        }
        self.last_end = Some(at + len);
        let speech = self.classifier.is_speech(pcm, sample_rate);
        self.hangover.frame(at, at + len, speech);
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.hangover.timeout(now);
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.hangover.deadline()
    }

    fn poll_event(&mut self) -> Option<VadEvent> {
        self.hangover.poll_event()
    }

    fn is_speech(&self) -> bool {
        self.hangover.is_speech()
    }

    fn reset(&mut self) {
        self.classifier.reset();
        self.hangover.reset();
        self.last_end = None;
    }
}
