//! The fake recogniser's task: one per session, owning its state.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::{Instant, sleep_until};

use super::{FakeSttConfig, FakeSttLog, Script};
use crate::adapter::speech::fake::rms;
use crate::application::ports::speech::{
    SttError, SttEvent, SttInput, SttProviderEnd, SttSampleRate,
};

const INTERIM_CONFIDENCE: f32 = 0.6;
const FINAL_CONFIDENCE: f32 = 0.92;

pub(super) struct Recogniser {
    pub(super) config: FakeSttConfig,
    pub(super) rate: SttSampleRate,
    pub(super) interim: bool,
    pub(super) script: Arc<Mutex<Script>>,
    pub(super) log: Arc<watch::Sender<FakeSttLog>>,
    pub(super) fail_after: Option<(u64, SttError)>,
}

/// The utterance being heard.
struct Utterance {
    text: String,
    start: Duration,
    /// Audio time where the last loud frame ended.
    end: Duration,
    last_loud_at: Instant,
    next_interim: Instant,
    loud_since_interim: bool,
    words_shown: usize,
}

struct State {
    /// Audio time: samples received so far.
    samples: u64,
    frames: u64,
    speech: Option<Utterance>,
    /// Finals waiting out `final_delay`, in due order.
    pending: VecDeque<(Instant, SttEvent)>,
}

impl Recogniser {
    pub(super) async fn run(mut self, mut end: SttProviderEnd) {
        let mut state = State {
            samples: 0,
            frames: 0,
            speech: None,
            pending: VecDeque::new(),
        };
        let mut out = Vec::new();
        loop {
            let deadline = self.deadline(&state);
            tokio::select! {
                biased;
                () = end.events.closed() => break,
                input = end.input.recv() => match input {
                    Some(input) => self.on_input(&mut state, input, &mut out),
                    None => break,
                },
                () = sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                    self.on_timer(&mut state, &mut out);
                }
            }
            for event in out.drain(..) {
                if let SttEvent::Final { text, .. } = &event {
                    let text = text.clone();
                    self.log
                        .send_modify(|log| super::super::log_text(&mut log.finals, text));
                }
                let last = matches!(event, SttEvent::Error(_));
                if end.events.send(event).await.is_err() || last {
                    self.log.send_modify(|log| log.closed += 1);
                    return;
                }
            }
        }
        self.log.send_modify(|log| log.closed += 1);
    }

    fn deadline(&self, state: &State) -> Option<Instant> {
        let due = state.pending.front().map(|(at, _)| *at);
        let speech = state.speech.as_ref().map(|u| {
            let silence = self.config.trailing_silence.map(|q| u.last_loud_at + q);
            let interim = (self.interim && u.loud_since_interim).then_some(u.next_interim);
            [silence, interim].into_iter().flatten().min()
        });
        [due, speech.flatten()].into_iter().flatten().min()
    }

    fn on_input(&mut self, state: &mut State, input: SttInput, out: &mut Vec<SttEvent>) {
        let now = Instant::now();
        match input {
            SttInput::Audio(pcm) => {
                let frame_start = self.rate.duration_of(state.samples);
                state.samples += pcm.len() as u64;
                state.frames += 1;
                let loud = rms(&pcm) >= self.config.energy_threshold;
                self.log.send_modify(|log| {
                    log.frames += 1;
                    log.loud_frames += u64::from(loud);
                });
                if loud {
                    let end = self.rate.duration_of(state.samples);
                    let utterance = state.speech.get_or_insert_with(|| {
                        out.push(SttEvent::SpeechStarted { at: frame_start });
                        Utterance {
                            text: next_text(&self.script),
                            start: frame_start,
                            end,
                            last_loud_at: now,
                            next_interim: now + self.config.interim_every,
                            loud_since_interim: true,
                            words_shown: 0,
                        }
                    });
                    utterance.end = end;
                    utterance.last_loud_at = now;
                    utterance.loud_since_interim = true;
                }
                if let Some((after, error)) = &self.fail_after
                    && state.frames >= *after
                {
                    out.push(SttEvent::Error(error.clone()));
                }
            }
            SttInput::Finish => {
                self.log.send_modify(|log| log.finishes += 1);
                let at = self.rate.duration_of(state.samples);
                let event = match state.speech.take() {
                    Some(u) => final_of(u),
                    None => SttEvent::Final {
                        text: String::new(),
                        start: at,
                        end: at,
                        confidence: None,
                    },
                };
                state
                    .pending
                    .push_back((now + self.config.final_delay, event));
            }
        }
    }

    fn on_timer(&mut self, state: &mut State, out: &mut Vec<SttEvent>) {
        let now = Instant::now();
        while state.pending.front().is_some_and(|(at, _)| *at <= now) {
            out.extend(state.pending.pop_front().map(|(_, e)| e));
        }
        let quiet = self.config.trailing_silence;
        if let Some(u) = state.speech.as_mut() {
            if quiet.is_some_and(|q| u.last_loud_at + q <= now) {
                out.extend(state.speech.take().map(final_of));
            } else if self.interim && u.loud_since_interim && u.next_interim <= now {
                let words: Vec<&str> = u.text.split_whitespace().collect();
                u.words_shown = (u.words_shown + 1).min(words.len());
                u.next_interim = now + self.config.interim_every;
                u.loud_since_interim = false;
                if u.words_shown > 0 {
                    out.push(SttEvent::Interim {
                        text: words[..u.words_shown].join(" "),
                        start: u.start,
                        end: u.end,
                        confidence: Some(INTERIM_CONFIDENCE),
                    });
                }
            }
        }
    }
}

fn final_of(u: Utterance) -> SttEvent {
    SttEvent::Final {
        text: u.text,
        start: u.start,
        end: u.end,
        confidence: Some(FINAL_CONFIDENCE),
    }
}

fn next_text(script: &Mutex<Script>) -> String {
    let mut script = script.lock().unwrap_or_else(PoisonError::into_inner);
    script.spoken += 1;
    let n = script.spoken;
    script
        .utterances
        .pop_front()
        .unwrap_or_else(|| format!("utterance {n}"))
}
