//! The agent speaking: its reply (or fixed text) cut into sentences, each
//! handed to the synthesis (`synthesis`), and what follows the speech.

use super::{
    CallCore, Effect,
    conversation::{AfterSpeech, Conversation, Speech, Tts},
};
use crate::{
    application::{
        ports::{
            calls::TransferMode,
            orchestrator::{Action, Turn},
        },
        sentences::SentenceSplitter,
    },
    domain::{
        call::{CallInput, EndReason, Phase},
        events::{EventData, Generated, LlmTimeout, Responded},
        pii,
    },
};

impl CallCore {
    /// Sends a turn to the agent; its reply streams in as `Reply*` inputs.
    pub(super) fn request_reply(&mut self, turn: Turn) {
        self.start_reply();
        self.emit(Effect::SendTurn(turn));
    }

    /// Responding: the reply's parts go to the sentence splitter as they come.
    pub(super) fn start_reply(&mut self) {
        self.log.marks.request = Some(self.now.at);
        self.abandon_speech();
        let splitter = SentenceSplitter::new().first_clause(self.cfg.first_clause_words);
        let speech = Speech::new(Some(splitter), AfterSpeech::Listen);
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
            Action::Transfer { target } => match self.agent_may_transfer(&target) {
                Err(refusal) => self.refuse_transfer(target, refusal),
                Ok(()) => match self.cfg.transfer_mode {
                    TransferMode::Attended => self.transfer_attended(target),
                    TransferMode::Blind => self.set_after(AfterSpeech::Transfer(target)),
                },
            },
            Action::SendDtmf { digits } => self.emit(Effect::SendDtmf(digits.as_str().to_owned())),
            Action::SecureInput => self.keys.secure_next(),
        }
    }

    pub(super) fn set_after(&mut self, after: AfterSpeech) {
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
    pub(super) fn finish_text(&mut self) {
        let Some(speech) = self.speech_mut() else {
            return;
        };
        let silent = speech.silent();
        match &mut speech.tts {
            Tts::Open { finished, .. } => {
                if !std::mem::replace(finished, true) {
                    self.emit(Effect::FinishTts);
                }
            }
            Tts::Opening { finish, .. } => *finish = true,
            // Nothing was heard of a failed synthesis: nothing to wait for.
            Tts::Failed if silent => self.speech_done(),
            // The failure prompt, or the end of the audio, is still playing:
            // its drain ends the speech.
            Tts::Failed | Tts::Done => {}
            // Nothing to say (an action alone, or an empty reply).
            Tts::Closed => self.speech_done(),
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
    pub(super) fn speak_sentence(&mut self, sentence: String) {
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

    /// The leg has sent everything queued.
    pub(super) fn on_playback_drained(&mut self) {
        let speaking =
            self.phase() == Some(Phase::Speaking) || matches!(self.conv, Conversation::Attended(_));
        let over = self
            .speech_mut()
            .is_some_and(|s| s.reply.is_none() && s.tts.over());
        tracing::debug!(speaking, over, phase = ?self.phase(), "playback drained");
        if speaking && over {
            self.speech_done();
        }
    }

    /// The leg never reported the speech played out (its report lost, or the
    /// leg stuck): the call goes on as if it had, rather than wait for ever.
    pub(super) fn drain_overdue(&mut self) {
        let over = self
            .speech_mut()
            .is_some_and(|s| s.reply.is_none() && s.tts.over());
        if over {
            tracing::warn!(grace = ?self.cfg.playback_drain_grace, "the media leg never reported the agent's speech played out: going on");
            self.on_playback_drained();
        }
    }

    /// The agent's speech is over: log its figures and do what was asked after it.
    pub(super) fn speech_done(&mut self) {
        let Some(speech) = self.take_speech() else {
            return;
        };
        if self.phase() == Some(Phase::Thinking) {
            // The agent said nothing: an action alone, an empty reply, or a
            // synthesis that failed before its first sentence went out.
            self.transition(
                CallInput::NothingToSay,
                EventData::AgentResponded(Responded::NothingToSay),
            );
        }
        self.close_speech(&speech);
        let text = speech.text();
        let audio = speech.audio();
        let data = EventData::TtsGenerated(Generated {
            text: pii::mask(&text),
            audio_ms: audio.as_millis() as u64,
            latency: self.turn_figures(),
        });
        let attended = matches!(self.conv, Conversation::Attended(_));
        if self.phase() == Some(Phase::Speaking) {
            self.transition(CallInput::ReplyFinished, data);
            self.history_agent(text, None);
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
            AfterSpeech::Transfer(target) => {
                self.transfer(target);
                // A transfer the call's state does not allow: keep listening.
                if matches!(self.conv, Conversation::Setup) {
                    self.listen();
                }
            }
        }
    }
}
