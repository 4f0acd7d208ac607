//! Echo reference for barge-in: is the caller's "speech" our own voice
//! coming back (a speakerphone, a handset at full volume)?
//!
//! The leg records the level of every 20 ms frame it sends and of every frame
//! it hears, each in a fixed ring of slots on one time line (20 ms slots from
//! the first frame). At a VAD onset, [`EchoReference::is_echo`] correlates the
//! envelope of the last `window` of heard audio with the envelope of the sent
//! audio at each delay from 0 to `max_delay`: an echo is a delayed, quieter
//! copy of what was sent, so its envelope correlates almost perfectly at one
//! delay, and it is not louder than what was sent. A caller talking over
//! the agent correlates weakly at every delay.
//!
//! Energy correlation only: it does not cancel an echo mixed with the
//! caller's speech (that speech then counts as speech, as it should).
//! No allocation: two fixed rings, and the correlation works on the stack.

use std::time::{Duration, Instant};

/// One slot: a 20 ms frame.
const SLOT: Duration = Duration::from_millis(20);
/// Slots kept each way: 1.28 s, more than the longest window plus delay.
const SLOTS: usize = 64;
/// How much louder than the sent audio an echo may be heard: none, but for
/// the codec's rounding and frames that straddle two of ours.
const LOUDER: f32 = 1.25;
/// How much the echo path's gain may differ between the two halves of the
/// window (the envelopes' own unevenness); a caller's onset after silence
/// differs by far more.
const MAX_GAIN_SWING: f32 = 4.0;
/// The longest correlation window, in slots.
const MAX_WINDOW: usize = 32;

/// The audio level of one frame: the RMS of its samples.
pub fn frame_level(pcm: &[i16]) -> u16 {
    crate::level::rms(pcm).min(f64::from(u16::MAX)) as u16
}

/// How [`EchoReference::is_echo`] decides.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EchoConfig {
    /// Heard audio correlated over this much before the onset (at most 640 ms).
    pub window: Duration,
    /// Delays tried between a frame sent and its echo heard, from 0.
    pub max_delay: Duration,
    /// Correlation of the envelopes at or above which heard audio is our echo.
    pub min_correlation: f32,
    /// Mean level of the sent window below which the agent was not talking
    /// (RMS; 100 is about -50 dBFS): nothing to echo.
    pub min_sent_level: u16,
}

impl Default for EchoConfig {
    /// 400 ms window, delays 0–400 ms (a loopback or LAN round trip plus the
    /// inbound jitter buffer, and the far end's acoustic path), r ≥ 0.8.
    fn default() -> Self {
        Self {
            window: Duration::from_millis(400),
            max_delay: Duration::from_millis(400),
            min_correlation: 0.8,
            min_sent_level: 100,
        }
    }
}

/// Levels by slot; a slot not written since its last turn round reads 0.
#[derive(Debug)]
struct Ring {
    /// Slot number + 1 of each entry (0: empty).
    tag: [u64; SLOTS],
    level: [u16; SLOTS],
}

impl Ring {
    const fn new() -> Self {
        Self {
            tag: [0; SLOTS],
            level: [0; SLOTS],
        }
    }

    fn put(&mut self, slot: u64, level: u16) {
        let i = (slot % SLOTS as u64) as usize;
        if self.tag[i] == slot + 1 {
            self.level[i] = self.level[i].max(level);
        } else {
            self.tag[i] = slot + 1;
            self.level[i] = level;
        }
    }

    fn get(&self, slot: u64) -> f32 {
        let i = (slot % SLOTS as u64) as usize;
        if self.tag[i] == slot + 1 {
            f32::from(self.level[i])
        } else {
            0.0
        }
    }
}

/// The recent envelopes of both directions; see the [module docs](self).
#[derive(Debug)]
pub struct EchoReference {
    config: EchoConfig,
    origin: Option<Instant>,
    sent: Ring,
    heard: Ring,
    /// The latest slot heard.
    last_heard: u64,
}

impl EchoReference {
    /// An empty reference (every buffer is inline).
    pub fn new(config: EchoConfig) -> Self {
        Self {
            config,
            origin: None,
            sent: Ring::new(),
            heard: Ring::new(),
            last_heard: 0,
        }
    }

    fn slot(&mut self, at: Instant) -> u64 {
        let origin = *self.origin.get_or_insert(at);
        (at.saturating_duration_since(origin).as_nanos() / SLOT.as_nanos()) as u64
    }

    /// A frame of `level` went out at `at`.
    pub fn record_sent(&mut self, at: Instant, level: u16) {
        let slot = self.slot(at);
        self.sent.put(slot, level);
    }

    /// A frame of `level` was heard, its first sample at `at`.
    pub fn record_heard(&mut self, at: Instant, level: u16) {
        let slot = self.slot(at);
        self.heard.put(slot, level);
        self.last_heard = self.last_heard.max(slot);
    }

    /// Whether the heard audio up to the latest frame is our own sent audio
    /// coming back: at some delay its envelope correlates with the sent one
    /// at `min_correlation` or more, and it is not louder.
    pub fn is_echo(&self) -> bool {
        let w = slots(self.config.window).clamp(2, MAX_WINDOW);
        let delays = slots(self.config.max_delay);
        let end = self.last_heard;
        if end + 1 < w as u64 {
            return false;
        }
        let first = end + 1 - w as u64;
        let mut heard = [0.0f32; MAX_WINDOW];
        for (i, h) in heard[..w].iter_mut().enumerate() {
            *h = self.heard.get(first + i as u64);
        }
        let mut sent = [0.0f32; MAX_WINDOW];
        (0..=delays as u64).take_while(|d| *d <= first).any(|d| {
            for (i, s) in sent[..w].iter_mut().enumerate() {
                *s = self.sent.get(first - d + i as u64);
            }
            self.matches(&heard[..w], &sent[..w])
        })
    }

    fn matches(&self, heard: &[f32], sent: &[f32]) -> bool {
        let n = heard.len() as f32;
        let (mh, ms) = (heard.iter().sum::<f32>() / n, sent.iter().sum::<f32>() / n);
        if ms < f32::from(self.config.min_sent_level) || mh > ms * LOUDER {
            return false;
        }
        self.steady_gain(heard, sent)
            && correlation(heard, sent, mh, ms) >= self.config.min_correlation
    }

    /// An echo is the sent audio scaled by one gain (the echo path's) over
    /// the whole window; a caller who was silent and starts talking is
    /// heard at almost nothing in the window's first half and loud at its
    /// end, whatever the agent said meanwhile. Compared half against half
    /// where the agent talked in both (a half it was quiet in says nothing).
    fn steady_gain(&self, heard: &[f32], sent: &[f32]) -> bool {
        let half = heard.len() / 2;
        let floor = f32::from(self.config.min_sent_level) * half as f32;
        let (s1, s2) = (
            sent[..half].iter().sum::<f32>(),
            sent[half..].iter().sum::<f32>(),
        );
        if s1 < floor || s2 < floor {
            return true;
        }
        let g1 = heard[..half].iter().sum::<f32>() / s1;
        let g2 = heard[half..].iter().sum::<f32>() / s2;
        g1.max(g2) <= MAX_GAIN_SWING * g1.min(g2)
    }
}

fn slots(d: Duration) -> usize {
    (d.as_nanos() / SLOT.as_nanos()) as usize
}

/// Pearson's r of two envelopes with means `ma`, `mb` (0 when either is flat).
fn correlation(a: &[f32], b: &[f32], ma: f32, mb: f32) -> f32 {
    let (mut ab, mut aa, mut bb) = (0.0f32, 0.0f32, 0.0f32);
    for (x, y) in a.iter().zip(b) {
        let (dx, dy) = (x - ma, y - mb);
        ab += dx * dy;
        aa += dx * dx;
        bb += dy * dy;
    }
    if aa <= f32::EPSILON || bb <= f32::EPSILON {
        return 0.0;
    }
    ab / (aa.sqrt() * bb.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A speech-like envelope: syllables of varying loudness and length.
    fn envelope(n: usize, seed: u32) -> Vec<u16> {
        let mut x = seed.wrapping_mul(0x9E37_79B9) | 1;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x
        };
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let len = 2 + next() as usize % 6;
            let level = if next() % 5 == 0 {
                30
            } else {
                500 + next() % 4000
            };
            out.extend(std::iter::repeat_n(level as u16, len));
        }
        out.truncate(n);
        out
    }

    fn at(t0: Instant, slot: usize) -> Instant {
        t0 + SLOT * slot as u32
    }

    #[test]
    fn our_own_voice_coming_back_quieter_and_late_is_echo() {
        for delay in [0, 3, 7, 15, 20] {
            let t0 = Instant::now();
            let mut r = EchoReference::new(EchoConfig::default());
            let out = envelope(60, 7);
            for (i, l) in out.iter().enumerate() {
                r.record_sent(at(t0, i), *l);
                let echo = if i >= delay { out[i - delay] / 4 } else { 0 };
                r.record_heard(at(t0, i), echo + 20);
            }
            assert!(r.is_echo(), "delay {delay} slots");
        }
    }

    #[test]
    fn a_caller_talking_over_the_agent_is_not_echo() {
        let t0 = Instant::now();
        let mut r = EchoReference::new(EchoConfig::default());
        let out = envelope(60, 7);
        for seed in [1, 2, 3, 4, 5, 11, 13, 17] {
            let caller = envelope(60, seed);
            for (i, l) in out.iter().enumerate() {
                r.record_sent(at(t0, i), *l);
                // Silence, then the caller starts over the agent.
                let heard = if i < 45 { 20 } else { caller[i] };
                r.record_heard(at(t0, i), heard);
            }
            assert!(!r.is_echo(), "seed {seed}");
        }
    }

    /// What the VAD's onset sees: the caller silent over the agent's
    /// speech, then the first few frames of their voice. Seen on the real
    /// Asterisk: a step like this matched some delay of the agent's
    /// envelope (a syllable after a gap) and the barge-in was ignored.
    #[test]
    fn a_caller_starting_to_talk_after_silence_is_not_echo() {
        let mut echoes = Vec::new();
        for agent in 0..40u32 {
            for onset_frames in 1..=5usize {
                let t0 = Instant::now();
                let mut r = EchoReference::new(EchoConfig::default());
                let out = envelope(60, 100 + agent);
                let caller = envelope(60, 500 + agent);
                for (i, l) in out.iter().enumerate() {
                    r.record_sent(at(t0, i), *l);
                    let heard = if i + onset_frames < 60 {
                        15
                    } else {
                        caller[i].max(800)
                    };
                    r.record_heard(at(t0, i), heard);
                }
                if r.is_echo() {
                    echoes.push((agent, onset_frames));
                }
            }
        }
        assert!(echoes.is_empty(), "taken for echo: {echoes:?}");
    }

    #[test]
    fn heard_louder_than_sent_or_with_nothing_sent_is_not_echo() {
        let t0 = Instant::now();
        let out = envelope(40, 9);
        let mut loud = EchoReference::new(EchoConfig::default());
        let mut quiet_agent = EchoReference::new(EchoConfig::default());
        for (i, l) in out.iter().enumerate() {
            loud.record_sent(at(t0, i), *l);
            loud.record_heard(at(t0, i), l.saturating_mul(2));
            quiet_agent.record_sent(at(t0, i), 0);
            quiet_agent.record_heard(at(t0, i), *l);
        }
        assert!(!loud.is_echo());
        assert!(!quiet_agent.is_echo());
        // Too little heard yet to tell.
        assert!(!EchoReference::new(EchoConfig::default()).is_echo());
    }

    #[test]
    fn frame_level_is_the_rms() {
        assert_eq!(frame_level(&[]), 0);
        assert_eq!(frame_level(&[1000, -1000, 1000, -1000]), 1000);
    }
}
