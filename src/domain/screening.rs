//! Answering-machine detection on outbound calls: who answered, judged from
//! the first seconds of the callee's sound, and what to do about a machine.
//!
//! A person answers with a short greeting ("hello?") and waits; a machine
//! talks on ("Hi, you've reached…") and often ends with a beep. The
//! [`Screener`] follows the callee's speech as the leg's VAD reports it
//! (onsets and ends on the clock) and the tones the leg hears, and decides:
//!
//! - a beep → `machine`;
//! - speech adding up to more than [`ScreenConfig::greeting_max`], or more
//!   than [`ScreenConfig::max_utterances`] utterances → `machine`;
//! - speech that stopped and stayed stopped for
//!   [`ScreenConfig::after_greeting_silence`] → `human`;
//! - nothing heard within [`ScreenConfig::initial_silence`], or no decision
//!   by [`ScreenConfig::decision_timeout`] → `unknown`.
//!
//! Pure: times come in as arguments, the next deadline comes out.

use super::SayText;
use serde::{Deserialize, Serialize};
use std::{
    fmt,
    time::{Duration, Instant},
};

/// Who answered an outbound call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AnsweredBy {
    /// A person.
    Human,
    /// An answering machine or voicemail.
    Machine,
    /// Could not tell in time (silence, or a long greeting still undecided).
    Unknown,
}

impl AnsweredBy {
    /// `human`, `machine` or `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Human => "human",
            Self::Machine => "machine",
            Self::Unknown => "unknown",
        }
    }
}

impl fmt::Display for AnsweredBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an outbound call does when a machine answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnMachine {
    /// Talk as to a person (the orchestrator is told a machine answered).
    Continue,
    /// Hang up at once.
    Hangup,
    /// Wait for the beep, say this, hang up.
    Message(SayText),
}

impl OnMachine {
    /// `continue`, `hangup` or `message`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Continue => "continue",
            Self::Hangup => "hangup",
            Self::Message(_) => "message",
        }
    }
}

/// The timing rules of a [`Screener`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScreenConfig {
    /// No sound this long after the answer: `unknown`.
    pub initial_silence: Duration,
    /// More speech than this in all: `machine`.
    pub greeting_max: Duration,
    /// Quiet this long after speech: `human`.
    pub after_greeting_silence: Duration,
    /// More utterances than this: `machine`.
    pub max_utterances: u32,
    /// The latest decision: `unknown` if none by then.
    pub decision_timeout: Duration,
    /// After a `machine` decision with a message to leave: how long to wait
    /// for the beep before speaking anyway.
    pub beep_timeout: Duration,
}

impl Default for ScreenConfig {
    fn default() -> Self {
        Self {
            initial_silence: Duration::from_millis(2500),
            greeting_max: Duration::from_millis(1800),
            after_greeting_silence: Duration::from_millis(800),
            max_utterances: 4,
            decision_timeout: Duration::from_millis(5000),
            beep_timeout: Duration::from_secs(10),
        }
    }
}

/// A decision and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// Who answered.
    pub answered_by: AnsweredBy,
    /// `beep`, `long_greeting`, `many_utterances`, `short_greeting`,
    /// `silence` or `timeout`.
    pub reason: &'static str,
    /// When it was decided (the time of the input or deadline that decided).
    pub at: Instant,
}

/// Follows the first seconds of an answered call; see the module docs.
#[derive(Debug, Clone)]
pub struct Screener {
    config: ScreenConfig,
    start: Instant,
    /// The onset of the utterance in progress.
    speaking_since: Option<Instant>,
    /// The end of the last utterance.
    last_end: Option<Instant>,
    utterances: u32,
    /// Speech of the finished utterances.
    spoken: Duration,
    verdict: Option<Verdict>,
}

impl Screener {
    /// Starts listening at `start` (the answer).
    pub fn new(config: ScreenConfig, start: Instant) -> Self {
        Self {
            config,
            start,
            speaking_since: None,
            last_end: None,
            utterances: 0,
            spoken: Duration::ZERO,
            verdict: None,
        }
    }

    /// The decision, once made.
    pub fn verdict(&self) -> Option<Verdict> {
        self.verdict
    }

    /// The callee started speaking at `at`.
    pub fn speech_started(&mut self, at: Instant) {
        if self.verdict.is_some() || self.speaking_since.is_some() {
            return;
        }
        self.speaking_since = Some(at);
        self.utterances += 1;
        if self.utterances > self.config.max_utterances {
            self.decide(AnsweredBy::Machine, "many_utterances", at);
        }
    }

    /// The callee stopped speaking at `at` (a pause or the end).
    pub fn speech_stopped(&mut self, at: Instant) {
        if let Some(since) = self.speaking_since.take() {
            self.spoken += at.saturating_duration_since(since);
            self.last_end = Some(at);
        }
    }

    /// A steady tone (the beep) ended at `at`.
    pub fn tone(&mut self, at: Instant) {
        if self.verdict.is_none() {
            self.decide(AnsweredBy::Machine, "beep", at);
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) is next due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.verdict.is_some() {
            return None;
        }
        let c = &self.config;
        let rule = match (self.speaking_since, self.last_end) {
            (Some(since), _) => since + c.greeting_max.saturating_sub(self.spoken),
            (None, Some(end)) => end + c.after_greeting_silence,
            (None, None) => self.start + c.initial_silence,
        };
        Some(rule.min(self.start + c.decision_timeout))
    }

    /// Applies every rule due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.verdict.is_some() {
            return;
        }
        let c = self.config;
        let speaking = self
            .speaking_since
            .map(|since| now.saturating_duration_since(since));
        match (speaking, self.last_end) {
            (Some(current), _) if self.spoken + current >= c.greeting_max => {
                self.decide(AnsweredBy::Machine, "long_greeting", now);
            }
            (None, Some(end)) if now >= end + c.after_greeting_silence => {
                self.decide(AnsweredBy::Human, "short_greeting", now);
            }
            (None, None) if now >= self.start + c.initial_silence => {
                self.decide(AnsweredBy::Unknown, "silence", now);
            }
            _ if now >= self.start + c.decision_timeout => {
                self.decide(AnsweredBy::Unknown, "timeout", now);
            }
            _ => {}
        }
    }

    fn decide(&mut self, answered_by: AnsweredBy, reason: &'static str, at: Instant) {
        self.verdict = Some(Verdict {
            answered_by,
            reason,
            at,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::disallowed_methods)] // a test's epoch
    fn t0() -> Instant {
        Instant::now()
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// What a callee does, in ms from the answer.
    enum Step {
        Speak(u64, u64),
        Beep(u64),
    }

    /// Plays `steps`, waking at every deadline like a driver; returns the
    /// verdict and its time from the answer.
    fn screen(steps: &[Step]) -> (AnsweredBy, &'static str, u64) {
        let start = t0();
        let mut s = Screener::new(ScreenConfig::default(), start);
        let mut inputs: Vec<(u64, u8)> = Vec::new();
        for step in steps {
            match step {
                Step::Speak(a, b) => inputs.extend([(*a, 0), (*b, 1)]),
                Step::Beep(a) => inputs.push((*a, 2)),
            }
        }
        inputs.sort();
        let mut next = inputs.into_iter().peekable();
        loop {
            if let Some(v) = s.verdict() {
                return (v.answered_by, v.reason, (v.at - start).as_millis() as u64);
            }
            let deadline = s
                .poll_timeout()
                .expect("undecided screeners have a deadline");
            match next.peek() {
                Some(&(at, kind)) if start + ms(at) <= deadline => {
                    next.next();
                    let at = start + ms(at);
                    match kind {
                        0 => s.speech_started(at),
                        1 => s.speech_stopped(at),
                        _ => s.tone(at),
                    }
                }
                _ => s.handle_timeout(deadline),
            }
        }
    }

    #[test]
    fn a_short_hello_then_waiting_is_a_person() {
        assert_eq!(
            screen(&[Step::Speak(400, 1000)]),
            (AnsweredBy::Human, "short_greeting", 1800)
        );
        // "Hello? … Hello?": two short utterances, then quiet.
        assert_eq!(
            screen(&[Step::Speak(300, 800), Step::Speak(1200, 1700)]),
            (AnsweredBy::Human, "short_greeting", 2500)
        );
    }

    #[test]
    fn a_long_greeting_is_a_machine_as_soon_as_it_is_long() {
        // Sentences with short pauses: 1.8 s of speech in all by 2.2 s.
        assert_eq!(
            screen(&[Step::Speak(200, 1200), Step::Speak(1500, 4000)]),
            (AnsweredBy::Machine, "long_greeting", 2300)
        );
    }

    #[test]
    fn a_beep_is_a_machine_at_once_and_many_words_are_too() {
        assert_eq!(
            screen(&[Step::Beep(600)]),
            (AnsweredBy::Machine, "beep", 600)
        );
        let words: Vec<Step> = (0..6)
            .map(|i| Step::Speak(200 + i * 350, 300 + i * 350))
            .collect();
        assert_eq!(
            screen(&words),
            (AnsweredBy::Machine, "many_utterances", 1600)
        );
    }

    #[test]
    fn silence_and_indecision_are_unknown() {
        assert_eq!(screen(&[]), (AnsweredBy::Unknown, "silence", 2500));
        // Short utterances with pauses just under the person's silence, on
        // and on, never long enough for a machine: undecided at 5 s.
        let config = ScreenConfig {
            max_utterances: 100,
            ..ScreenConfig::default()
        };
        let start = t0();
        let mut s = Screener::new(config, start);
        for i in 0..7u64 {
            s.speech_started(start + ms(100 + i * 700));
            s.speech_stopped(start + ms(300 + i * 700));
            s.handle_timeout(start + ms(700 + i * 700));
        }
        s.handle_timeout(start + ms(5000));
        let v = s.verdict().expect("decided by the timeout");
        assert_eq!((v.answered_by, v.reason), (AnsweredBy::Unknown, "timeout"));
    }

    #[test]
    fn nothing_changes_after_the_decision() {
        let start = t0();
        let mut s = Screener::new(ScreenConfig::default(), start);
        s.tone(start + ms(100));
        s.speech_started(start + ms(200));
        s.handle_timeout(start + ms(9000));
        assert_eq!(s.verdict().unwrap().reason, "beep");
        assert_eq!(s.poll_timeout(), None);
    }
}
