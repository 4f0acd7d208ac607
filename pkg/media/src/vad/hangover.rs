//! Onset (N speech frames in a row) and hangover (speech ends after a quiet
//! time on the clock), shared by every classifier.

use std::time::{Duration, Instant};

use super::{VadConfig, VadEvent};

/// Frames further apart than this do not make one onset run: Asterisk stops
/// sending in silence, so a gap means the sound was interrupted.
const MAX_FRAME_GAP: Duration = Duration::from_millis(30);

#[derive(Debug, Clone, Copy)]
enum State {
    Silence {
        run: u32,
        run_start: Option<Instant>,
        prev_end: Option<Instant>,
    },
    Speech {
        last_speech_end: Instant,
        /// A pause was reported for the current quiet run.
        paused: bool,
    },
}

const SILENCE: State = State::Silence {
    run: 0,
    run_start: None,
    prev_end: None,
};

#[derive(Debug)]
pub(crate) struct Hangover {
    config: VadConfig,
    state: State,
    /// At most an end and a start come out of one call; a fixed queue keeps
    /// the per-frame path free of allocation.
    events: [Option<VadEvent>; 4],
    head: usize,
    len: usize,
}

impl Hangover {
    pub(crate) fn new(config: VadConfig) -> Self {
        Self {
            config,
            state: SILENCE,
            events: [None; 4],
            head: 0,
            len: 0,
        }
    }

    pub(crate) fn frame(&mut self, start: Instant, end: Instant, speech: bool) {
        // A frame after the hangover ran out, with no timeout call in between,
        // still ends the previous speech first.
        self.timeout(start);
        match &mut self.state {
            State::Speech {
                last_speech_end,
                paused,
            } => {
                if speech {
                    *last_speech_end = (*last_speech_end).max(end);
                    if std::mem::take(paused) {
                        // Speech goes on after a pause that was reported.
                        self.push(VadEvent::SpeechStart { at: start });
                    }
                }
            }
            State::Silence {
                run,
                run_start,
                prev_end,
            } => {
                let contiguous = prev_end.is_some_and(|p| start <= p + MAX_FRAME_GAP);
                *prev_end = Some(end);
                if !speech {
                    (*run, *run_start) = (0, None);
                    return;
                }
                if !contiguous {
                    (*run, *run_start) = (0, None);
                }
                *run += 1;
                let first = *run_start.get_or_insert(start);
                if *run >= self.config.onset_frames.max(1) {
                    self.state = State::Speech {
                        last_speech_end: end,
                        paused: false,
                    };
                    self.push(VadEvent::SpeechStart { at: first });
                }
            }
        }
    }

    pub(crate) fn timeout(&mut self, now: Instant) {
        if let State::Speech {
            last_speech_end,
            paused: paused @ false,
        } = &mut self.state
            && self.config.pause < self.config.hangover
            && now >= *last_speech_end + self.config.pause
        {
            *paused = true;
            let at = *last_speech_end;
            self.push(VadEvent::SpeechPause { at });
        }
        if let State::Speech {
            last_speech_end, ..
        } = self.state
            && now >= last_speech_end + self.config.hangover
        {
            self.state = SILENCE;
            self.push(VadEvent::SpeechEnd {
                at: last_speech_end,
            });
        }
    }

    pub(crate) fn deadline(&self) -> Option<Instant> {
        match self.state {
            State::Speech {
                last_speech_end,
                paused,
            } => Some(if paused || self.config.pause >= self.config.hangover {
                last_speech_end + self.config.hangover
            } else {
                last_speech_end + self.config.pause
            }),
            State::Silence { .. } => None,
        }
    }

    pub(crate) fn is_speech(&self) -> bool {
        matches!(self.state, State::Speech { .. })
    }

    pub(crate) fn reset(&mut self) {
        self.state = SILENCE;
        self.len = 0;
    }

    fn push(&mut self, event: VadEvent) {
        if self.len == self.events.len() {
            // Nobody is polling: the oldest event is the least useful.
            self.head = (self.head + 1) % self.events.len();
            self.len -= 1;
        }
        self.events[(self.head + self.len) % self.events.len()] = Some(event);
        self.len += 1;
    }

    pub(crate) fn poll_event(&mut self) -> Option<VadEvent> {
        if self.len == 0 {
            return None;
        }
        let event = self.events[self.head].take();
        self.head = (self.head + 1) % self.events.len();
        self.len -= 1;
        event
    }
}
