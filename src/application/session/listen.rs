//! Hearing the caller: audio to STT, VAD, end of turn, silence.

use super::{
    SessionCommand,
    run::{AfterSpeech, Held, Session},
};
use crate::{
    application::ports::{
        media::MediaEvent,
        orchestrator::Turn,
        speech::{SttError, SttEvent},
    },
    domain::{
        call::{CallInput, CallState, EndReason, Phase},
        events::{Dtmf, EventData, SttFailed, Transcribed},
    },
};
use tokio::time::Instant;

/// STT failures in a row before the call gives up on recognition.
const STT_RETRIES: u32 = 3;

impl Session {
    pub(super) fn phase(&self) -> Option<Phase> {
        match self.call.state() {
            CallState::Active { phase } => Some(*phase),
            _ => None,
        }
    }

    /// Enters listening: arm the silence timer.
    pub(super) fn listen(&mut self) {
        self.transcript.clear();
        self.deadlines.silence = Some(Instant::now() + self.deps.config.silence_timeout);
        self.deadlines.endpoint = None;
        self.deadlines.final_result = None;
        self.deadlines.max_turn = None;
    }

    pub(super) async fn on_media(&mut self, event: MediaEvent) {
        match event {
            MediaEvent::Audio(frame) => {
                if let Some(stt) = &mut self.stt
                    && let Err(e) = stt.push_audio(frame.samples())
                {
                    // An overrun drops one frame; a closed session is handled on recv.
                    if !matches!(e, SttError::Overrun { .. }) {
                        tracing::debug!(error = %e, "frame not taken by STT");
                    }
                }
            }
            MediaEvent::SpeechStarted { at } => {
                let at = Instant::from_std(at);
                self.deadlines.silence = None;
                self.deadlines.endpoint = None;
                // Not a turn while the call is being transferred.
                if self.deadlines.max_turn.is_none() && self.phase().is_some() {
                    self.deadlines.max_turn = Some(at + self.deps.config.max_turn);
                }
                if self.phase() == Some(Phase::Speaking) && self.deps.config.barge_in {
                    self.barge_in(at);
                }
            }
            MediaEvent::SpeechEnded { at } => {
                self.marks.speech_end = Some(Instant::from_std(at));
                if self.phase() == Some(Phase::Listening) {
                    self.deadlines.endpoint = Some(Instant::now() + self.deps.config.endpointing);
                }
            }
            MediaEvent::Dtmf { digit } => self.on_dtmf(digit).await,
            MediaEvent::Latched { peer } => tracing::debug!(%peer, "media latched"),
            MediaEvent::PlaybackDrained { .. } => self.on_playback_drained().await,
        }
    }

    pub(super) async fn on_stt(&mut self, event: Option<SttEvent>) {
        match event {
            Some(SttEvent::Interim { text, .. }) => {
                self.deadlines.silence = None;
                let words = text.split_whitespace().count();
                if self.phase() == Some(Phase::Speaking)
                    && self.deps.config.barge_in
                    && words >= self.deps.config.barge_in_min_words.max(1)
                {
                    self.barge_in(Instant::now());
                }
            }
            Some(SttEvent::Final {
                text, confidence, ..
            }) => {
                self.stt_failures = 0;
                let text = text.trim();
                if !text.is_empty() {
                    if !self.transcript.is_empty() {
                        self.transcript.push(' ');
                    }
                    self.transcript.push_str(text);
                    self.last_confidence = confidence;
                }
                if self.deadlines.final_result.is_some() {
                    self.marks.stt_final = Some(Instant::now());
                    self.complete_turn().await;
                }
            }
            Some(SttEvent::SpeechStarted { .. }) => {}
            Some(SttEvent::Error(e)) => self.stt_failed(e.to_string()).await,
            None => self.stt_failed("session closed".into()).await,
        }
    }

    /// Retries the STT stream; after `STT_RETRIES` failures in a row the call
    /// cannot go on without recognition: say so and hang up.
    async fn stt_failed(&mut self, error: String) {
        self.stt = None;
        self.stt_failures += 1;
        tracing::warn!(%error, attempt = self.stt_failures, "speech recognition failed");
        self.publish(EventData::SttFailed(SttFailed {
            error,
            attempt: Some(self.stt_failures),
            providers: self.stt_names.clone(),
        }));
        if self.stt_failures >= STT_RETRIES {
            self.say(
                self.deps.config.fallback_text.clone(),
                AfterSpeech::Hangup(EndReason::Error("stt".into())),
            )
            .await;
            return;
        }
        self.open_stt().await;
    }

    /// The VAD heard the end of speech and the caller stayed silent for the
    /// endpointing time (or talked too long): ask STT for its final.
    pub(super) fn end_turn(&mut self) {
        self.deadlines.endpoint = None;
        self.deadlines.max_turn = None;
        let finishing = self.stt.as_mut().is_some_and(|stt| stt.finish().is_ok());
        let wait = if finishing {
            self.deps.config.final_timeout
        } else {
            std::time::Duration::ZERO
        };
        self.deadlines.final_result = Some(Instant::now() + wait);
    }

    /// The final is in (or its wait timed out): send the turn, or go back to
    /// listening when nothing intelligible was said (a cough is not a turn).
    pub(super) async fn complete_turn(&mut self) {
        self.deadlines.final_result = None;
        let text = std::mem::take(&mut self.transcript);
        if text.is_empty() {
            self.listen();
            return;
        }
        self.reprompts = 0;
        self.keys.spoke();
        let masked = self.masker.mask(&text);
        let data = EventData::SttTranscribed(Transcribed {
            text: masked,
            confidence: self.last_confidence,
            turn: self.call.turns() + 1,
        });
        if self.transition(CallInput::EndOfTurn, data) {
            self.history_caller(text.clone());
            let interrupted = self.interrupted.take();
            let turn = Turn {
                text,
                interrupted: interrupted.as_ref().map(|_| true),
                heard_text: interrupted,
                dtmf: None,
            };
            self.request_reply(turn);
        }
    }

    pub(super) async fn on_dtmf(&mut self, digit: char) {
        match self.phase() {
            Some(Phase::Speaking) => {
                // The digit is a turn once the barge-in is complete.
                self.barge_in(Instant::now());
                self.held
                    .push_front(Held::Command(SessionCommand::Dtmf(digit)));
                return;
            }
            Some(Phase::Thinking) => self.reply = None,
            _ => {}
        }
        if self.phase().is_none() {
            return;
        }
        self.deadlines = Default::default();
        let secure = self.keys_secure();
        let shown = self.deps.config.dtmf_in_events && !secure;
        let data = Dtmf {
            digit: shown.then_some(digit),
            masked: !shown,
        };
        if self.transition(CallInput::Dtmf, EventData::CallDtmf(data)) {
            self.history_key(digit, secure);
            let interrupted = self.interrupted.take();
            let turn = Turn {
                text: String::new(),
                interrupted: interrupted.as_ref().map(|_| true),
                heard_text: interrupted,
                dtmf: Some(digit.to_string()),
            };
            self.request_reply(turn);
        }
    }

    pub(super) async fn on_timer(&mut self) {
        let now = Instant::now();
        let due = |d: Option<Instant>| d.is_some_and(|d| d <= now);
        if due(self.deadlines.tts_first_byte) {
            self.deadlines.tts_first_byte = None;
            self.tts_failed("no audio before the first-byte timeout".into())
                .await;
        }
        if due(self.deadlines.transfer) {
            self.deadlines.transfer = None;
            self.transfer_ring_timeout().await;
        }
        if due(self.deadlines.final_result) {
            self.marks.stt_final = Some(now);
            self.complete_turn().await;
        }
        if due(self.deadlines.endpoint) || due(self.deadlines.max_turn) {
            self.end_turn();
        }
        if due(self.deadlines.silence) {
            self.deadlines.silence = None;
            self.reprompts += 1;
            if self.reprompts > self.deps.config.max_reprompts {
                let text = self.deps.config.goodbye_text.clone();
                self.say(text, AfterSpeech::Hangup(EndReason::Silence))
                    .await;
            } else {
                let text = self.deps.config.reprompt_text.clone();
                self.say(text, AfterSpeech::Listen).await;
            }
        }
    }
}
