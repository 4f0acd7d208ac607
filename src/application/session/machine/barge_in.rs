//! Barge-in: the caller speaks over the agent. The leg flushes what it has
//! not played, and reports how much was heard; the barge-in is complete then.
//!
//! In pause mode (`barge_in_mode = "pause"`) caller sound first only pauses
//! the agent's audio (a hold), and is judged: sound shorter than
//! `barge_in_noise_max` is noise, a transcript of backchannel words only
//! ("mm-hmm", "yeah") or of nothing is a backchannel or noise, and an onset
//! the leg found to be our own echo pauses nothing; the agent then resumes
//! where it stopped. Sound still going at `barge_in_speech_min`, a transcript
//! with other words, or no transcript by `barge_in_decide_timeout` is speech:
//! the barge-in goes on as in cancel mode, and the caller's turn starts with
//! what the hold heard.

use super::{
    CallCore, Effect,
    conversation::{BargingIn, Conversation, Hold, HoldOutcome, Piece},
    timers::Timer,
};
use crate::application::session::BargeInMode;
use crate::{
    application::ports::{history::BargeInRecord, media::FlushReport},
    domain::{
        call::CallInput,
        events::{BargeIn, EventData},
        pii,
    },
};
use std::time::{Duration, Instant};

/// How long a barge-in waits for the leg's flush report.
const FLUSH_WAIT: Duration = Duration::from_secs(1);

impl CallCore {
    /// Caller sound began over the agent at `at`: cancel, or hold and judge.
    pub(super) fn caller_over_agent(&mut self, at: Instant, echo: bool) {
        match self.cfg.barge_in_mode {
            BargeInMode::Cancel => self.barge_in(at),
            BargeInMode::Pause => self.hold(at, echo),
        }
    }

    /// A farewell after a failure is not interrupted: nothing can follow.
    fn interruptible(&self) -> bool {
        !matches!(&self.conv, Conversation::Responding(s)
            if matches!(s.after, super::conversation::AfterSpeech::Hangup(crate::domain::call::EndReason::Error(_))))
    }

    /// Pauses the agent's audio while the sound that began at `at` is judged.
    fn hold(&mut self, at: Instant, echo: bool) {
        let speech_min = self.cfg.barge_in_speech_min;
        if let Some(h) = &mut self.hold {
            // Sound again within the hold: judged on its whole length.
            h.sound_end = None;
            h.sound_over = false;
            let replay = std::mem::replace(&mut h.playing, false);
            if replay {
                h.paused_at = at;
            }
            let due = (h.onset + speech_min).max(self.now.at);
            let due = self.timers.get(Timer::Hold).map_or(due, |t| t.min(due));
            self.timers.set(Timer::Hold, due);
            if replay {
                self.emit(Effect::PausePlayout);
            }
            return;
        }
        if !self.interruptible() || self.speech_mut().is_none() {
            return;
        }
        if echo && self.cfg.barge_in_echo_guard {
            tracing::debug!(call_id = %self.who.call_id, "barge-in ignored: our own echo");
            self.log.resumed.echo += 1;
            return;
        }
        self.emit(Effect::PausePlayout);
        self.hold = Some(Hold {
            onset: at,
            sound_end: None,
            sound_over: false,
            asked: false,
            paused_at: at,
            playing: false,
        });
        self.timers.set(Timer::Hold, at + speech_min);
    }

    /// The held sound stopped at `at` (`over`: the VAD's end, not a pause).
    /// Short: noise, resume. Longer: ask for its transcript; once the sound
    /// is over (not only paused), play on while it is awaited if
    /// `barge_in_resume_early`. Whether a hold took it.
    pub(super) fn hold_sound_stopped(&mut self, at: Instant, over: bool) -> bool {
        let (noise_max, decide) = (
            self.cfg.barge_in_noise_max,
            self.cfg.barge_in_decide_timeout,
        );
        let now = self.now.at;
        let Some(h) = &mut self.hold else {
            return false;
        };
        h.sound_end = Some(at);
        h.sound_over |= over;
        if at.saturating_duration_since(h.onset) < noise_max {
            self.resume_playout(Resume::Noise);
            return true;
        }
        if !h.asked && self.stt.open {
            h.asked = true;
            self.timers.set(Timer::Hold, (h.onset + decide).max(now));
            self.emit(Effect::FinishStt);
        } else if !h.asked {
            // No recogniser to tell a backchannel from a word: speech.
            self.hold_is_speech(None);
            return true;
        }
        if over && self.cfg.barge_in_resume_early {
            self.play_while_judged();
        }
        true
    }

    /// A sound over short of the speech minimum is most often a backchannel:
    /// the agent goes on at once instead of after the recogniser's decode
    /// (seconds for Whisper on a busy CPU). A transcript with other words
    /// still cancels the agent then; more sound pauses it again.
    fn play_while_judged(&mut self) {
        let now = self.now.at;
        let Some(h) = &mut self.hold else {
            return;
        };
        if h.playing {
            return;
        }
        h.playing = true;
        let held = now.saturating_duration_since(h.paused_at);
        self.emit(Effect::ResumePlayout);
        self.drain_later(held);
        tracing::debug!(call_id = %self.who.call_id, held_ms = held.as_millis() as u64, "barge-in hold: playing on while judged");
    }

    /// The leg reports the speech played out `held` later.
    fn drain_later(&mut self, held: Duration) {
        if let Some(due) = self.timers.get(Timer::Drain) {
            self.timers.set(Timer::Drain, due + held);
        }
    }

    /// A transcript during a hold decides it: nothing (noise) or only
    /// backchannel words resume the agent, anything else is speech.
    pub(super) fn hold_transcript(&mut self, text: &str) -> bool {
        if self.hold.is_none() {
            return false;
        }
        let words = words_of(text);
        if words.is_empty() {
            self.resume_playout(Resume::Noise);
        } else if words.iter().all(|w| self.is_backchannel(w)) {
            self.resume_playout(Resume::Backchannel);
        } else {
            self.hold_is_speech(Some(text.to_owned()));
        }
        true
    }

    /// Whether `word` (from [`words_of`]) is a configured backchannel,
    /// however long its letters are held ("mmm", "yeahhh", "Mm-hmmm").
    fn is_backchannel(&self, word: &str) -> bool {
        let word = held_letters_once(word);
        self.cfg
            .barge_in_backchannels
            .iter()
            .any(|b| held_letters_once(b) == word)
    }

    /// An interim of `words` words while the agent speaks, in pause mode:
    /// during a hold, more words than a backchannel has mean speech. Outside
    /// one it does nothing: the VAD's onset (echo-aware) starts holds.
    pub(super) fn hold_interim(&mut self, words: usize) {
        if self.hold.is_some() && words >= SPEECH_WORDS {
            self.hold_is_speech(None);
        }
    }

    /// The hold's deadline: the sound went on (speech), or its transcript
    /// did not come in time (taken as speech, which cancel mode does anyway).
    pub(super) fn hold_timed_out(&mut self) {
        self.hold_is_speech(None);
    }

    fn resume_playout(&mut self, why: Resume) {
        let Some(h) = self.hold.take() else {
            return;
        };
        self.timers.clear(Timer::Hold);
        if !h.playing {
            self.emit(Effect::ResumePlayout);
            self.drain_later(self.now.at.saturating_duration_since(h.paused_at));
        }
        let held_ms = self.now.at.saturating_duration_since(h.onset).as_millis() as u64;
        tracing::info!(call_id = %self.who.call_id, ?why, held_ms, "barge-in hold resumed");
        match why {
            Resume::Noise => self.log.resumed.noise += 1,
            Resume::Backchannel => self.log.resumed.backchannel += 1,
        }
    }

    /// Drops a hold because its speech ends otherwise (done, replaced, the
    /// call moves on): the leg plays again.
    pub(super) fn drop_hold(&mut self) {
        if let Some(h) = self.hold.take() {
            self.timers.clear(Timer::Hold);
            if !h.playing {
                self.emit(Effect::ResumePlayout);
            }
        }
    }

    fn hold_is_speech(&mut self, text: Option<String>) {
        let Some(h) = self.hold.take() else {
            return;
        };
        self.timers.clear(Timer::Hold);
        let held_ms = self.now.at.saturating_duration_since(h.onset).as_millis() as u64;
        tracing::info!(call_id = %self.who.call_id, held_ms, heard = ?text.as_deref().map(crate::domain::pii::mask), "barge-in hold: speech");
        if !self.interruptible() || self.speech_mut().is_none() {
            // The speech became a farewell meanwhile: it is said whole.
            if !h.playing {
                self.emit(Effect::ResumePlayout);
            }
            return;
        }
        let outcome = HoldOutcome {
            final_owed: h.asked && text.is_none(),
            sound_over: h.sound_over,
            quiet: h.sound_end.is_some(),
            text,
        };
        self.cancel_speech(h.onset, Some(outcome));
    }

    /// The caller spoke over the agent: stop the audio now and cancel the
    /// rest. The barge-in is complete once the leg reports what it cut.
    pub(super) fn barge_in(&mut self, onset: Instant) {
        if !self.interruptible() {
            // A farewell is said whole, a hold on it included.
            self.drop_hold();
            return;
        }
        // A hold in progress is overtaken: the flush ends its pause too.
        self.hold = None;
        self.timers.clear(Timer::Hold);
        self.cancel_speech(onset, None);
    }

    fn cancel_speech(&mut self, onset: Instant, from_hold: Option<HoldOutcome>) {
        if !self.interruptible() {
            return;
        }
        let Some(speech) = self.take_speech() else {
            return;
        };
        // Audio not yet in the pacer is cut too: the flush starts a new
        // generation and the leg drops the older one unread.
        self.emit(Effect::Flush);
        self.close_speech(&speech);
        self.timers.clear(Timer::TtsFirstByte);
        self.timers.set(Timer::Flush, self.now.at + FLUSH_WAIT);
        self.conv = Conversation::BargingIn(BargingIn {
            onset,
            pieces: speech.pieces,
            from_hold,
        });
    }

    /// The leg reported the barge-in's flush (`None`: it could not): report
    /// the barge-in with what the caller heard, and listen to the caller.
    pub(super) fn barge_in_reported(&mut self, report: Option<FlushReport>) {
        if !matches!(self.conv, Conversation::BargingIn(_)) {
            return;
        }
        let Conversation::BargingIn(b) = std::mem::take(&mut self.conv) else {
            unreachable!("matched above");
        };
        self.timers.clear(Timer::Flush);
        let sent = report.map_or(Duration::ZERO, |r| r.sent);
        let heard = heard_text(&b.pieces, sent);
        let delay_ms = report
            .and_then(|r| r.last_packet_at)
            .map(|last| last.saturating_duration_since(b.onset).as_secs_f64() * 1000.0);
        self.log.barge_ins += 1;
        if let Some(d) = delay_ms {
            self.log.barge_in_delays_ms.push(d);
        }
        let data = EventData::CallBargein(BargeIn {
            heard_text: pii::mask(&heard),
            heard_ms: sent.as_millis() as u64,
            dropped_ms: report.map_or(0, |r| r.dropped.as_millis() as u64),
            delay_ms,
            caller_text: b
                .from_hold
                .as_ref()
                .and_then(|o| o.text.as_deref())
                .map(pii::mask),
            latency: self.turn_figures(),
        });
        self.transition(CallInput::BargeIn, data);
        let cut = BargeInRecord {
            heard_ms: sent.as_millis() as u64,
            delay_ms,
        };
        self.history_agent(heard.clone(), Some(cut));
        self.close_turn_marks();
        self.interrupted = Some(heard);
        self.listen();
        self.timers.clear(Timer::Silence);
        self.timers.set(Timer::MaxTurn, b.onset + self.cfg.max_turn);
        if let Some(o) = b.from_hold {
            self.seed_turn(o);
        }
    }

    /// The caller's turn after a hold that was speech starts with what the
    /// hold heard; a sound already over ends the turn after the endpointing.
    fn seed_turn(&mut self, o: HoldOutcome) {
        if let Conversation::Listening(l) = &mut self.conv {
            if let Some(text) = &o.text {
                l.transcript = text.trim().to_owned();
                l.trailing = super::listen::trails_off(&l.transcript);
            }
            // Finished early only if the caller has not talked again since
            // the pause its transcript was asked at: else their next pause
            // asks for the rest (and what the hold heard is only a part).
            l.finished_early = (o.text.is_some() || o.final_owed) && o.quiet;
            l.finals_owed = u32::from(o.final_owed);
        }
        if o.sound_over {
            self.timers
                .set(Timer::Endpoint, self.now.at + self.cfg.endpointing);
        }
    }
}

/// Interim words from which a held sound is speech: more than a backchannel
/// ("yeah yeah") has.
const SPEECH_WORDS: usize = 3;

/// Why a hold resumed the agent.
#[derive(Debug, Clone, Copy)]
enum Resume {
    Noise,
    Backchannel,
}

/// Holds that resumed the agent (false barge-ins avoided), by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Resumed {
    pub(crate) noise: u32,
    pub(crate) backchannel: u32,
    pub(crate) echo: u32,
}

/// `word` with each run of one letter written once ("mmm" → "m").
fn held_letters_once(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    for c in word.chars() {
        if !out.ends_with(c) {
            out.push(c);
        }
    }
    out
}

/// The words of a transcript, lowercase, without punctuation ("Mm-hmm." →
/// "mm-hmm").
pub(super) fn words_of(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '\''))
        .map(|w| w.trim_matches(['-', '\'']).to_lowercase())
        .filter(|w| !w.is_empty())
        .collect()
}

/// The part of the spoken pieces that fits in `sent` of audio: whole pieces,
/// then the leading share of words of the piece that was cut.
pub(super) fn heard_text(pieces: &[Piece], sent: Duration) -> String {
    let mut left = sent;
    let mut out: Vec<String> = Vec::new();
    for p in pieces {
        if p.audio.is_zero() {
            break;
        }
        if left >= p.audio {
            out.push(p.text.clone());
            left -= p.audio;
            continue;
        }
        let words: Vec<&str> = p.text.split_whitespace().collect();
        let n = (words.len() as f64 * left.as_secs_f64() / p.audio.as_secs_f64()).floor() as usize;
        if n > 0 {
            out.push(words[..n].join(" "));
        }
        break;
    }
    out.join(" ")
}
