//! What each SIPp caller says: one µ-law file per step, played once as
//! continuous 20 ms PCMU packets (silence is sent too, as most phones and
//! trunks do). Silence while the greeting plays, then `turns` times a short
//! utterance followed by silence long enough for the agent's reply.

use std::{path::Path, time::Duration};
use vg_testkit::wav;

/// Silence at the start, while the built-in agent's greeting plays (4.5 s of
/// fake voice at the fake TTS's 60 ms per character).
pub(crate) const LEAD: Duration = Duration::from_secs(6);
/// One turn: the utterance, then silence for endpointing, the fake
/// recogniser, the agent and its spoken reply ("You said: utterance N.",
/// about 1.3 s).
pub(crate) const SPEECH: Duration = Duration::from_millis(1200);
pub(crate) const TURN: Duration = Duration::from_secs(6);
/// The steady window wanted once every call of a step is up.
const STEADY: Duration = Duration::from_secs(20);
/// Settling time after the last call is answered, and before the first hangs up.
pub(crate) const MARGIN: Duration = Duration::from_secs(2);

/// One step's callers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Plan {
    pub(crate) calls: u32,
    pub(crate) turns: u32,
}

impl Plan {
    /// At least `min_turns` turns, more if the ramp at `rate` calls a second
    /// would leave less than [`STEADY`] with every call up.
    pub(crate) fn new(calls: u32, rate: u32, min_turns: u32) -> Self {
        let ramp = f64::from(calls) / f64::from(rate);
        let needed = ramp + (STEADY + 2 * MARGIN).as_secs_f64() - LEAD.as_secs_f64();
        let turns = (needed / TURN.as_secs_f64()).ceil().max(0.0) as u32;
        Self {
            calls,
            turns: turns.max(min_turns),
        }
    }

    /// How long each call lasts (its file's length; SIPp hangs up then).
    pub(crate) fn call_length(&self) -> Duration {
        LEAD + TURN * self.turns
    }

    /// Turns every call should complete.
    pub(crate) fn turns_expected(&self) -> u64 {
        u64::from(self.calls) * u64::from(self.turns)
    }
}

/// The caller's audio as 8 kHz linear PCM.
pub(crate) fn pcm(plan: &Plan) -> Vec<i16> {
    let rate = wav::RATE;
    let mut pcm = wav::silence(LEAD, rate);
    for _ in 0..plan.turns {
        pcm.extend(voice(SPEECH));
        pcm.extend(wav::silence(TURN - SPEECH, rate));
    }
    pcm
}

/// A stand-in for a sentence, as the real-Asterisk tests use: a 220 Hz tone
/// with two harmonics, loud enough for the gateway's VAD and the fake
/// recogniser (which hear speech by energy).
fn voice(d: Duration) -> Vec<i16> {
    let r = wav::RATE;
    wav::tone(220.0, d, r, -18.0)
        .iter()
        .zip(wav::tone(440.0, d, r, -24.0))
        .zip(wav::tone(660.0, d, r, -28.0))
        .map(|((a, b), c)| a.saturating_add(b).saturating_add(c))
        .collect()
}

/// Writes the raw µ-law file SIPp's `rtp_stream` plays (no header).
pub(crate) fn write_ulaw(path: &Path, plan: &Plan) -> std::io::Result<()> {
    let bytes: Vec<u8> = pcm(plan).into_iter().map(ulaw).collect();
    std::fs::write(path, bytes)
}

/// G.711 µ-law encoding of one sample.
pub(crate) fn ulaw(sample: i16) -> u8 {
    const BIAS: i32 = 0x84;
    const CLIP: i32 = 32_635;
    let s = i32::from(sample);
    let sign = if s < 0 { 0x80 } else { 0 };
    let magnitude = s.abs().min(CLIP) + BIAS;
    // The highest set bit is between 7 and 14: the segment is its offset.
    let exponent = (31 - magnitude.leading_zeros() as i32 - 7).clamp(0, 7);
    let mantissa = (magnitude >> (exponent + 3)) & 0x0F;
    !(sign | (exponent << 4) | mantissa) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulaw_matches_g711() {
        assert_eq!(ulaw(0), 0xFF);
        assert_eq!(ulaw(-1), 0x7F);
        assert_eq!(ulaw(i16::MAX), 0x80);
        assert_eq!(ulaw(i16::MIN), 0x00);
        assert_eq!(ulaw(1000), 0xCE);
        assert_eq!(ulaw(-1000), 0x4E);
    }

    #[test]
    fn long_ramps_get_more_turns_so_the_steady_window_holds() {
        let short = Plan::new(50, 20, 5);
        assert_eq!(short.turns, 5);
        assert_eq!(short.call_length(), Duration::from_secs(36));
        let long = Plan::new(500, 20, 5);
        // 25 s of ramp + 24 s of window and margins, less the lead: 43 s.
        assert_eq!(long.turns, 8);
        assert!(long.call_length().as_secs_f64() - 25.0 >= 24.0);
        assert_eq!(long.turns_expected(), 4000);
    }

    #[test]
    fn the_file_is_continuous_and_speaks_once_per_turn() {
        let plan = Plan { calls: 1, turns: 3 };
        let pcm = pcm(&plan);
        assert_eq!(pcm.len() as u64, plan.call_length().as_millis() as u64 * 8);
        // 20 ms frames: loud ones come in exactly `turns` runs.
        let loud: Vec<bool> = pcm
            .chunks(160)
            .map(|f| f.iter().map(|s| i32::from(*s).abs()).max().unwrap_or(0) > 1000)
            .collect();
        let onsets = loud.windows(2).filter(|w| !w[0] && w[1]).count();
        assert_eq!(onsets, 3);
        assert!(
            !loud[..300].iter().any(|l| *l),
            "silent through the greeting"
        );
    }
}
