//! In-process fake speech providers that behave like streaming ones, for
//! tests of the call session and its failure paths.
//!
//! - [`FakeStt`] hears speech by frame energy in the PCM it is pushed, so a
//!   test caller's audio drives it: `SpeechStarted` at the first loud frame,
//!   `Interim`s every `interim_every` while loud audio keeps coming (one more
//!   word each time), and a `Final` with the next scripted utterance (or
//!   `utterance N`) `final_delay` after `finish()`, or on its own after
//!   `trailing_silence` without loud audio (wall clock, like Asterisk, which
//!   sends nothing during silence).
//! - [`FakeTts`] speaks an audible voiced waveform, `per_char` of audio per
//!   character, cut in chunks delivered `speedup` times faster than real
//!   time after `first_audio_delay`; it can be scripted to fail or stall and
//!   records every text it was asked to speak.
//!
//! All waiting is `tokio::time`, so tests may run with paused time. Both log
//! into a `watch` channel a test can await instead of sleeping.

mod stt;
mod tts;
mod wave;

pub use stt::{FakeStt, FakeSttConfig, FakeSttLog};
pub use tts::{FakeTts, FakeTtsConfig, FakeTtsFailure, FakeTtsLog};
pub use wave::{rms, synthesize};

/// Texts a fake keeps in its log: plenty for any test, and bounded, because
/// the fakes also serve `make run` and the load benchmark, where an
/// ever-growing log would pass for a leak in the gateway's memory figures.
const LOG_TEXTS: usize = 1024;

/// Appends `text`, dropping the oldest half once the log is twice
/// [`LOG_TEXTS`] long (amortised constant time).
fn log_text(texts: &mut Vec<String>, text: String) {
    if texts.len() >= 2 * LOG_TEXTS {
        texts.drain(..texts.len() - LOG_TEXTS);
    }
    texts.push(text);
}

#[cfg(test)]
mod tests_stt;
#[cfg(test)]
mod tests_tts;
