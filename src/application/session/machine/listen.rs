//! Hearing the caller: VAD, transcripts, the end of a turn, silence, digits.

use super::{
    CallCore, Effect, Input,
    conversation::{AfterSpeech, Conversation, Listening},
    timers::Timer,
};
use crate::{
    application::{ports::orchestrator::Turn, session::BargeInMode},
    domain::{
        call::{CallInput, EndReason, Phase},
        events::{Dtmf, EventData, SttFailed, Transcribed},
    },
};
use std::time::{Duration, Instant};

/// Recogniser failures in a row before the call gives up on recognition.
const STT_RETRIES: u32 = 3;

/// Last words after which a caller is not done ("I'd like to… um").
const TRAILING_WORDS: &[&str] = &[
    "and", "but", "or", "so", "because", "um", "uh", "er", "erm", "hmm", "the", "a", "an", "to",
    "of", "with", "for", "if", "that", "my", "like",
];

/// Whether `transcript` trails off: a comma, an ellipsis or a dash at its
/// end, or a last word a sentence does not end on ("and", "um", "to").
pub(super) fn trails_off(transcript: &str) -> bool {
    let t = transcript.trim_end();
    if t.ends_with([',', '-', '\u{2026}']) || t.ends_with("..") {
        return true;
    }
    let last = t
        .rsplit(|c: char| !c.is_alphanumeric() && c != '\'')
        .find(|w| !w.is_empty())
        .unwrap_or("")
        .to_lowercase();
    TRAILING_WORDS.contains(&last.as_str())
}

/// Whether `transcript` ends a sentence: closing punctuation (Whisper writes
/// it) and no trailing off.
fn ends_a_sentence(transcript: &str) -> bool {
    transcript.trim_end().ends_with(['.', '?', '!']) && !trails_off(transcript)
}

impl CallCore {
    /// Enters listening: arm the silence timer.
    pub(super) fn listen(&mut self) {
        self.drop_speculation();
        self.conv = Conversation::Listening(Listening::default());
        self.timers
            .set(Timer::Silence, self.now.at + self.cfg.silence_timeout);
        self.timers.clear(Timer::Endpoint);
        self.timers.clear(Timer::FinalResult);
        self.timers.clear(Timer::MaxTurn);
    }

    pub(super) fn on_speech_started(&mut self, at: Instant, echo: bool) {
        self.timers.clear(Timer::Silence);
        self.timers.clear(Timer::Endpoint);
        if let Conversation::Listening(l) = &mut self.conv {
            // The caller goes on: the early final (if any) is a part, not the end.
            l.finished_early = false;
        }
        self.drop_speculation();
        // A turn starts; not while the call is being transferred.
        if matches!(self.conv, Conversation::Listening(_)) && !self.timers.is_set(Timer::MaxTurn) {
            self.timers.set(Timer::MaxTurn, at + self.cfg.max_turn);
        }
        if self.phase() == Some(Phase::Speaking) && self.cfg.barge_in {
            self.caller_over_agent(at, echo);
        }
    }

    /// The caller paused mid-turn: ask for the transcript of what was said
    /// (a recogniser that decodes per utterance, like Whisper, starts now
    /// instead of after the hangover and the endpointing).
    pub(super) fn on_speech_paused(&mut self, at: Instant) {
        if self.hold_sound_stopped(at, false) {
            return;
        }
        if !self.cfg.finish_on_pause
            || !self.stt.open
            || self.phase() != Some(Phase::Listening)
            || !self.timers.is_set(Timer::MaxTurn)
        {
            return;
        }
        let Conversation::Listening(l) = &mut self.conv else {
            return;
        };
        if l.finished_early {
            return;
        }
        l.finished_early = true;
        l.finals_owed += 1;
        self.log.marks.speech_end = Some(at);
        self.emit(Effect::FinishStt);
    }

    pub(super) fn on_speech_ended(&mut self, at: Instant) {
        if self.hold_sound_stopped(at, true) {
            return;
        }
        let Conversation::Listening(l) = &self.conv else {
            return;
        };
        let wait = if l.trailing {
            self.cfg.endpointing_incomplete
        } else {
            self.cfg.endpointing
        };
        self.log.marks.speech_end = Some(at);
        if self.phase() == Some(Phase::Listening) {
            self.timers.set(Timer::Endpoint, self.now.at + wait);
        }
    }

    pub(super) fn on_interim(&mut self, words: usize) {
        self.timers.clear(Timer::Silence);
        if self.phase() != Some(Phase::Speaking) || !self.cfg.barge_in {
            return;
        }
        match self.cfg.barge_in_mode {
            BargeInMode::Pause => self.hold_interim(words),
            BargeInMode::Cancel if words >= self.cfg.barge_in_min_words.max(1) => {
                self.barge_in(self.now.at);
            }
            BargeInMode::Cancel => {}
        }
    }

    pub(super) fn on_final(&mut self, text: &str, confidence: Option<f32>) {
        self.stt.failures = 0;
        let text = text.trim();
        if self.hold_transcript(text) {
            return;
        }
        // A final while the agent speaks is not part of a turn.
        let mut settled = false;
        if let Conversation::Listening(l) = &mut self.conv {
            if !text.is_empty() {
                if !l.transcript.is_empty() {
                    l.transcript.push(' ');
                }
                l.transcript.push_str(text);
                l.confidence = confidence;
            }
            l.finals_owed = l.finals_owed.saturating_sub(1);
            l.trailing = trails_off(&l.transcript);
            // The early final is in, the caller has not gone on, and what
            // they said ends a sentence: the turn is over.
            settled = l.finished_early && l.finals_owed == 0 && ends_a_sentence(&l.transcript);
        }
        let waited = self.timers.is_set(Timer::FinalResult);
        if settled || waited {
            self.log.marks.stt_final = Some(self.now.at);
            self.complete_turn();
        } else {
            self.speculate();
        }
    }

    /// Reopens the recogniser; after `STT_RETRIES` failures in a row the
    /// call cannot go on without recognition: say so and hang up.
    pub(super) fn stt_failed(&mut self, error: String) {
        self.stt.open = false;
        self.stt.failures += 1;
        tracing::warn!(%error, attempt = self.stt.failures, "speech recognition failed");
        self.publish(EventData::SttFailed(SttFailed {
            error,
            attempt: Some(self.stt.failures),
            providers: self.who.stt_names.clone(),
        }));
        if self.stt.failures >= STT_RETRIES {
            let text = self.cfg.fallback_text.clone();
            self.say(text, AfterSpeech::Hangup(EndReason::Error("stt".into())));
            return;
        }
        self.stt.open = true;
        self.emit(Effect::OpenStt);
    }

    /// The recogniser cannot be opened: the call cannot go on.
    pub(crate) fn stt_unavailable(&mut self, error: String) {
        self.stt.open = false;
        tracing::error!(%error, "speech recognition unavailable");
        self.publish(EventData::SttFailed(SttFailed {
            error: error.clone(),
            attempt: None,
            providers: self.who.stt_names.clone(),
        }));
        self.end(EndReason::Error(format!("stt: {error}")), true);
    }

    /// The VAD heard the end of speech and the caller stayed silent for the
    /// endpointing time (or talked too long): ask for the final.
    fn end_turn(&mut self) {
        self.timers.clear(Timer::Endpoint);
        self.timers.clear(Timer::MaxTurn);
        let (early, owed) = match &self.conv {
            Conversation::Listening(l) => (l.finished_early, l.finals_owed),
            _ => (false, 0),
        };
        let wait = match (self.stt.open, early) {
            (false, _) => Duration::ZERO,
            // Asked at the pause; nothing said since.
            (true, true) if owed == 0 => Duration::ZERO,
            (true, true) => self.cfg.final_timeout,
            (true, false) => {
                if let Conversation::Listening(l) = &mut self.conv {
                    l.finals_owed += 1;
                }
                self.emit(Effect::FinishStt);
                self.cfg.final_timeout
            }
        };
        self.timers.set(Timer::FinalResult, self.now.at + wait);
    }

    /// No final will come: complete the turn at the next deadline check.
    pub(super) fn stt_finish_failed(&mut self) {
        if self.timers.is_set(Timer::FinalResult) {
            self.timers.set(Timer::FinalResult, self.now.at);
        }
    }

    /// The final is in (or its wait timed out): send the turn, or go back to
    /// listening when nothing intelligible was said (a cough is not a turn).
    fn complete_turn(&mut self) {
        self.timers.clear(Timer::FinalResult);
        self.timers.clear(Timer::Endpoint);
        self.timers.clear(Timer::MaxTurn);
        let Conversation::Listening(l) = &mut self.conv else {
            return;
        };
        let text = std::mem::take(&mut l.transcript);
        let confidence = l.confidence;
        let speculation = self.take_speculation(&text);
        if text.is_empty() {
            self.listen();
            return;
        }
        self.reprompts = 0;
        self.keys.spoke();
        // Masked (or held back) on its way out: see `publish`.
        let data = EventData::SttTranscribed(Transcribed {
            text: text.clone(),
            confidence,
            turn: self.call.turns() + 1,
        });
        if !self.transition(CallInput::EndOfTurn, data) {
            if speculation.is_some() {
                self.emit(Effect::DropReply);
            }
            return;
        }
        self.history_caller(text.clone());
        match speculation {
            Some(s) => self.adopt_speculation(s),
            None => self.send_turn(text, None),
        }
    }

    /// Sends the caller's turn, with what they heard if they barged in.
    fn send_turn(&mut self, text: String, dtmf: Option<String>) {
        // A digit while a turn was sent ahead: that turn is not the turn.
        self.drop_speculation();
        let interrupted = self.interrupted.take();
        let turn = Turn {
            text,
            interrupted: interrupted.as_ref().map(|_| true),
            heard_text: interrupted,
            dtmf,
            superseded: std::mem::take(&mut self.superseded).then_some(true),
            resumed_after_takeover: std::mem::take(&mut self.taken_over).then_some(true),
            answered_by: self.who.answered_by,
        };
        self.request_reply(turn);
    }

    pub(super) fn on_dtmf(&mut self, digit: char) {
        match self.phase() {
            Some(Phase::Speaking) => {
                // The digit is a turn once the barge-in is complete.
                self.barge_in(self.now.at);
                if matches!(self.conv, Conversation::BargingIn(_)) {
                    self.held.push_front(Input::Dtmf(digit));
                }
                return;
            }
            Some(Phase::Thinking) => self.abandon_speech(),
            Some(Phase::Listening) => {}
            None => return,
        }
        self.timers.clear_all();
        // A key between two spoken turns ends any number read out.
        self.release_transcripts();
        let secure = self.keys_secure();
        let shown = self.cfg.dtmf_in_events && !secure;
        let data = Dtmf {
            digit: shown.then_some(digit),
            masked: !shown,
        };
        if self.transition(CallInput::Dtmf, EventData::CallDtmf(data)) {
            self.history_key(digit, secure);
            self.send_turn(String::new(), Some(digit.to_string()));
        }
    }

    pub(super) fn on_timers(&mut self) {
        let now = self.now.at;
        if matches!(self.conv, Conversation::BargingIn(_)) {
            if self.timers.take_due(Timer::Flush, now) {
                self.barge_in_reported(None);
            }
            return;
        }
        if self.timers.take_due(Timer::Hold, now) {
            self.hold_timed_out();
        }
        if self.timers.take_due(Timer::TtsFirstByte, now) {
            self.tts_failed("no audio before the first-byte timeout".into());
        }
        if self.timers.take_due(Timer::Drain, now) {
            self.drain_overdue();
        }
        if self.timers.take_due(Timer::Ring, now) {
            self.transfer_ring_timeout();
        }
        if self.timers.take_due(Timer::FinalResult, now) {
            self.log.marks.stt_final = Some(now);
            self.complete_turn();
        }
        let endpoint = self.timers.take_due(Timer::Endpoint, now);
        if self.timers.take_due(Timer::MaxTurn, now) || endpoint {
            self.end_turn();
        }
        if self.timers.take_due(Timer::Silence, now) {
            self.reprompt();
        }
    }

    fn reprompt(&mut self) {
        self.reprompts += 1;
        if self.reprompts > self.cfg.max_reprompts {
            let text = self.cfg.goodbye_text.clone();
            self.say(text, AfterSpeech::Hangup(EndReason::Silence));
        } else {
            let text = self.cfg.reprompt_text.clone();
            self.say(text, AfterSpeech::Listen);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{ends_a_sentence, trails_off};

    #[test]
    fn sentences_end_on_punctuation_and_trail_off_on_fillers() {
        for done in [
            "What time do you open?",
            "Thanks.",
            "Cancel it!",
            "I'm done.",
        ] {
            assert!(ends_a_sentence(done), "{done}");
            assert!(!trails_off(done), "{done}");
        }
        for open in [
            "I'd like to",
            "and",
            "Book a table for, um",
            "So I was thinking...",
            "My number is,",
            "I want the.",
            "Well\u{2026}",
        ] {
            assert!(!ends_a_sentence(open), "{open}");
            assert!(trails_off(open), "{open}");
        }
        // No punctuation: not known to be finished, not trailing either.
        assert!(!ends_a_sentence("book a table") && !trails_off("book a table"));
        assert!(!ends_a_sentence("") && !trails_off(""));
    }
}
