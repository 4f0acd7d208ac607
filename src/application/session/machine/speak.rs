//! The agent speaking: reply → sentences → synthesis → leg, and barge-in.

use super::{
    CallCore, Effect,
    conversation::{AfterSpeech, BargingIn, Conversation, Piece, Speech, Tts},
    timers::Timer,
};
use crate::{
    application::{
        ports::{
            calls::TransferMode,
            media::{AudioChunk, FlushReport},
            orchestrator::{Action, Turn},
            speech::{TtsAudio, TtsChunk},
        },
        sentences::SentenceSplitter,
    },
    domain::{
        call::{CallInput, EndReason, Phase},
        events::{BargeIn, EventData, Generated, LlmTimeout, Responded, TtsFailed},
        pii,
    },
};
use std::time::{Duration, Instant};

/// The piece id the failure prompt is recorded under (synthesis ids count from 0).
const PROMPT_PIECE: u32 = u32::MAX;

/// How long a barge-in waits for the leg's flush report.
const FLUSH_WAIT: Duration = Duration::from_secs(1);

impl CallCore {
    /// Sends a turn to the agent; its reply streams in as `Reply*` inputs.
    pub(super) fn request_reply(&mut self, turn: Turn) {
        self.log.marks.request = Some(self.now.at);
        self.abandon_speech();
        self.emit(Effect::SendTurn(turn));
        let speech = Speech::new(Some(SentenceSplitter::new()), AfterSpeech::Listen);
        self.conv = Conversation::Responding(speech);
    }

    pub(super) fn on_reply_text(&mut self, text: &str) {
        let now = self.now.at;
        let Some(speech) = self.speech_mut() else {
            return;
        };
        let Some(splitter) = &mut speech.reply else {
            return;
        };
        splitter.push(text);
        let mut sentences = Vec::new();
        while let Some(sentence) = splitter.next_sentence() {
            sentences.push(sentence);
        }
        self.log.marks.first_token.get_or_insert(now);
        for sentence in sentences {
            self.speak_sentence(sentence);
        }
    }

    pub(super) fn on_action(&mut self, action: Action) {
        if self.speech_mut().is_none_or(|s| s.reply.is_none()) {
            return;
        }
        match action {
            Action::Hangup => self.set_after(AfterSpeech::Hangup(EndReason::AgentHangup)),
            // Attended: the person's phone rings while the agent finishes
            // its sentence; blind: the caller leaves once it is said.
            Action::Transfer { target } => match self.cfg.transfer_mode {
                TransferMode::Attended => self.transfer_attended(target),
                TransferMode::Blind => self.set_after(AfterSpeech::Transfer(target)),
            },
            Action::SendDtmf { digits } => self.emit(Effect::SendDtmf(digits.as_str().to_owned())),
        }
    }

    fn set_after(&mut self, after: AfterSpeech) {
        if let Some(speech) = self.speech_mut() {
            speech.after = after;
        }
    }

    pub(super) fn reply_failed(&mut self, error: String, timeout: bool) {
        let Some(speech) = self.speech_mut() else {
            return;
        };
        if speech.reply.is_none() {
            return;
        }
        // Whatever was said stays said; the fallback follows it.
        speech.reply = Some(SentenceSplitter::new());
        if !timeout {
            tracing::warn!(%error, "agent reply failed");
        }
        // The catalog's one agent failure: its error says which.
        self.publish(EventData::LlmTimeout(LlmTimeout { error }));
        let text = self.cfg.fallback_text.clone();
        self.speak_sentence(text);
        self.reply_finished();
    }

    /// The reply is complete: speak the rest, or act at once if nothing is spoken.
    pub(super) fn reply_finished(&mut self) {
        let Some(speech) = self.speech_mut() else {
            return;
        };
        let Some(mut splitter) = speech.reply.take() else {
            return;
        };
        if let Some(rest) = splitter.finish() {
            self.speak_sentence(rest);
        }
        self.finish_text();
    }

    /// The speech's text is complete: the synthesis may finish.
    fn finish_text(&mut self) {
        let Some(speech) = self.speech_mut() else {
            return;
        };
        match &mut speech.tts {
            Tts::Open { finished, .. } => {
                if !std::mem::replace(finished, true) {
                    self.emit(Effect::FinishTts);
                }
            }
            Tts::Opening { finish, .. } => *finish = true,
            // The failure prompt, or the end of the audio, is still playing:
            // its drain ends the speech.
            Tts::Failed | Tts::Done => {}
            Tts::Closed => {
                // Nothing to say (an action alone, or an empty reply).
                if self.phase() == Some(Phase::Thinking) {
                    self.transition(
                        CallInput::NothingToSay,
                        EventData::AgentResponded(Responded::NothingToSay),
                    );
                }
                self.speech_done();
            }
        }
    }

    /// Speaks fixed text (greeting, reprompt, goodbye, API `say`), after
    /// what is being said, if anything.
    /// Nothing is said once the caller is being transferred or is gone.
    pub(super) fn say(&mut self, text: String, after: AfterSpeech) {
        match &mut self.conv {
            Conversation::Setup | Conversation::Listening(_) => {
                self.conv = Conversation::Responding(Speech::new(None, after));
            }
            Conversation::Attended(t) if t.speech.is_none() => {
                t.speech = Some(Speech::new(None, after));
            }
            Conversation::Responding(_) | Conversation::Attended(_) => {
                let speech = self.speech_mut().expect("matched above");
                let dropped = speech.reply.take().is_some();
                speech.after = after;
                if dropped {
                    self.emit(Effect::DropReply);
                }
            }
            Conversation::BargingIn(_)
            | Conversation::Transferring { .. }
            | Conversation::Bridged
            | Conversation::Ended => {
                tracing::debug!("nothing is said while the caller is transferred");
                return;
            }
        }
        self.speak_sentence(text);
        self.finish_text();
    }

    /// Hands one sentence to the synthesis, opening it on the first.
    fn speak_sentence(&mut self, sentence: String) {
        let language = self.language();
        let Some(speech) = self.speech_mut() else {
            return;
        };
        match &mut speech.tts {
            // Every provider failed this speech already: the rest is lost.
            Tts::Failed => {}
            Tts::Closed => {
                speech.tts = Tts::Opening {
                    queue: vec![sentence],
                    finish: false,
                };
                self.emit(Effect::OpenTts { language });
            }
            Tts::Opening { queue, .. } => queue.push(sentence),
            Tts::Open { .. } => self.send_sentence(sentence),
            Tts::Done => self.tts_failed("text after the synthesis finished".into()),
        }
    }

    pub(super) fn tts_opened(&mut self) {
        let Some(speech) = self.speech_mut() else {
            return;
        };
        let Tts::Opening { queue, finish } = std::mem::replace(
            &mut speech.tts,
            Tts::Open {
                next: 0,
                finished: false,
            },
        ) else {
            return;
        };
        for sentence in queue {
            self.send_sentence(sentence);
        }
        if finish {
            self.finish_text();
        }
    }

    /// The synthesis is open: the sentence goes to it, and the reply has
    /// started if it had not.
    fn send_sentence(&mut self, sentence: String) {
        match self.phase() {
            Some(Phase::Thinking) => {
                let data = EventData::AgentResponded(Responded::Reply {
                    text: pii::mask(&sentence),
                    latency_ms: self.log.marks.figures().agent_ms,
                });
                self.transition(CallInput::ReplyStarted, data);
            }
            // A `say` while listening: no `agent.responded`.
            Some(Phase::Listening) => {
                self.transition(CallInput::ReplyStarted, None);
            }
            _ => {}
        }
        self.timers.clear(Timer::Silence);
        let first_byte = self.now.at + self.tts_first_byte_deadline();
        let Some(speech) = self.speech_mut() else {
            return;
        };
        let Tts::Open { next, .. } = &mut speech.tts else {
            return;
        };
        let id = *next;
        *next += 1;
        let first = speech.pieces.is_empty();
        speech.pieces.push(Piece {
            id,
            text: sentence.clone(),
            audio: Duration::ZERO,
        });
        if first {
            self.timers.set(Timer::TtsFirstByte, first_byte);
        }
        self.emit(Effect::SpeakText(sentence));
    }

    /// How long the call waits for the first audio of a speech: each
    /// provider of the chain may use its whole timeout before the chain
    /// switches, and the chain needs a moment to report that the last failed.
    fn tts_first_byte_deadline(&self) -> Duration {
        let per = self.cfg.tts_first_byte_timeout;
        match self.tts_provider_count() {
            0 | 1 => per,
            n => per * n as u32 + Duration::from_secs(1),
        }
    }

    pub(super) fn on_tts_audio(&mut self, chunk: TtsChunk) {
        let now = self.now.at;
        let Some(speech) = self.speech_mut() else {
            return;
        };
        if !matches!(speech.tts, Tts::Open { .. }) {
            return;
        }
        if let Some(p) = speech.pieces.iter_mut().find(|p| p.id == chunk.piece) {
            p.audio += chunk.duration();
        }
        self.timers.clear(Timer::TtsFirstByte);
        self.log.marks.first_audio.get_or_insert(now);
        let pcm = match chunk.audio {
            TtsAudio::Linear16(pcm) => pcm,
            TtsAudio::Mulaw(bytes) => bytes.iter().map(|b| ulaw_to_linear(*b)).collect(),
        };
        self.emit(Effect::Play(AudioChunk::Pcm {
            pcm,
            rate: chunk.sample_rate,
        }));
        self.log.marks.first_play.get_or_insert(now);
    }

    pub(super) fn on_tts_done(&mut self) {
        let Some(speech) = self.speech_mut() else {
            return;
        };
        if !matches!(speech.tts, Tts::Open { .. }) {
            return;
        }
        speech.tts = Tts::Done;
        let silent = speech.silent();
        self.emit(Effect::CloseTts);
        self.emit(Effect::Play(AudioChunk::EndOfSpeech));
        if silent {
            self.speech_done();
        }
    }

    /// The synthesis failed (every provider of the chain): report it, play
    /// the failure prompt if there is one, and go on without the rest of
    /// this speech.
    pub(super) fn tts_failed(&mut self, error: String) {
        let Some(speech) = self.speech_mut() else {
            return;
        };
        if speech.tts == Tts::Failed {
            return;
        }
        let was = std::mem::replace(&mut speech.tts, Tts::Failed);
        tracing::warn!(%error, "speech synthesis failed");
        self.publish(EventData::TtsFailed(TtsFailed {
            error,
            prompt: self.cfg.tts_failure_prompt.is_some(),
            providers: self.who.tts_names.clone(),
        }));
        if was.live() {
            self.emit(Effect::CloseTts);
        }
        self.timers.clear(Timer::TtsFirstByte);
        self.play_failure_prompt();
        self.emit(Effect::Play(AudioChunk::EndOfSpeech));
        if self.speech_mut().is_some_and(|s| s.silent()) {
            self.speech_done();
        }
    }

    /// Every synthesiser failed this speech: play the configured prompt in
    /// its place, through the pacer like speech (so barge-in stops it), once
    /// per speech.
    fn play_failure_prompt(&mut self) {
        let Some(prompt) = self.cfg.tts_failure_prompt.clone() else {
            return;
        };
        if self
            .speech_mut()
            .is_none_or(|s| s.pieces.iter().any(|p| p.id == PROMPT_PIECE))
        {
            return;
        }
        if matches!(self.phase(), Some(Phase::Thinking | Phase::Listening)) {
            self.transition(
                CallInput::ReplyStarted,
                EventData::AgentResponded(Responded::Prompt),
            );
        }
        self.timers.clear(Timer::Silence);
        self.emit(Effect::Play(AudioChunk::Pcm {
            pcm: prompt.pcm.to_vec(),
            rate: prompt.rate,
        }));
        if let Some(speech) = self.speech_mut() {
            speech.pieces.push(Piece {
                id: PROMPT_PIECE,
                text: String::new(),
                audio: prompt.duration(),
            });
        }
    }

    /// The leg has sent everything queued.
    pub(super) fn on_playback_drained(&mut self) {
        let speaking =
            self.phase() == Some(Phase::Speaking) || matches!(self.conv, Conversation::Attended(_));
        let over = self
            .speech_mut()
            .is_some_and(|s| s.reply.is_none() && s.tts.over());
        if speaking && over {
            self.speech_done();
        }
    }

    /// The agent's speech is over: log its figures and do what was asked after it.
    pub(super) fn speech_done(&mut self) {
        let Some(speech) = self.take_speech() else {
            return;
        };
        self.close_speech(&speech);
        let text = speech.text();
        let audio = speech.audio();
        let data = EventData::TtsGenerated(Generated {
            text: pii::mask(&text),
            audio_ms: audio.as_millis() as u64,
        });
        let attended = matches!(self.conv, Conversation::Attended(_));
        if self.phase() == Some(Phase::Speaking) {
            self.transition(CallInput::ReplyFinished, data);
            self.history_agent(text, false);
        } else if attended && !audio.is_zero() {
            // Said while the person's phone rang: spoken all the same.
            self.publish(data);
        }
        self.close_turn_marks();
        if attended {
            // The agent's last sentence is out: the transfer may go on.
            return self.progress_transfer();
        }
        match speech.after {
            AfterSpeech::Listen => self.listen(),
            AfterSpeech::Hangup(reason) => self.end(reason, true),
            AfterSpeech::Transfer(target) => self.transfer(target),
        }
    }

    /// The caller spoke over the agent: stop the audio now and cancel the
    /// rest. The barge-in is complete once the leg reports what it cut.
    pub(super) fn barge_in(&mut self, onset: Instant) {
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
        });
        self.transition(CallInput::BargeIn, data);
        self.history_agent(heard.clone(), true);
        self.close_turn_marks();
        self.interrupted = Some(heard);
        self.listen();
        self.timers.clear(Timer::Silence);
        self.timers.set(Timer::MaxTurn, b.onset + self.cfg.max_turn);
    }
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

/// G.711 µ-law to linear (ITU-T G.711), for providers that send µ-law.
fn ulaw_to_linear(b: u8) -> i16 {
    let b = !b;
    let t = ((i32::from(b & 0x0F) << 3) + 0x84) << ((b & 0x70) >> 4);
    (if b & 0x80 != 0 { 0x84 - t } else { t - 0x84 }) as i16
}
