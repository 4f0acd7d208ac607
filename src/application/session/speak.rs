//! The agent speaking: reply stream → sentences → TTS → media, and barge-in.

use super::run::{AfterSpeech, PendingFlush, Piece, Session};
use crate::{
    application::ports::{
        calls::TransferMode,
        media::{AudioChunk, FlushReport, MediaCommand},
        orchestrator::{Action, OrchestratorError, ReplyPart, Turn},
        speech::{TtsAudio, TtsConfig, TtsEvent, TtsOutput},
    },
    domain::{
        call::{CallInput, Phase},
        events::{BargeIn, EventData, Generated, LlmTimeout, Responded, TtsFailed},
        pii,
    },
};
use std::time::Duration;
use tokio::{sync::oneshot, time::Instant};

impl Session {
    /// Sends a turn to the agent; its reply streams in through `on_reply`.
    pub(super) fn request_reply(&mut self, turn: Turn) {
        let Some(conversation) = &self.conversation else {
            return;
        };
        self.marks.request = Some(Instant::now());
        self.reply = Some(self.deps.orchestrator.send_turn(conversation, turn));
        self.reply_done = false;
        self.splitter = Default::default();
        self.after_speech = AfterSpeech::Listen;
        self.speech_failed = false;
    }

    pub(super) async fn on_reply(&mut self, part: Option<Result<ReplyPart, OrchestratorError>>) {
        match part {
            Some(Ok(ReplyPart::Text(text))) => {
                self.marks.first_token.get_or_insert_with(Instant::now);
                self.splitter.push(&text);
                while let Some(sentence) = self.splitter.next_sentence() {
                    self.speak_sentence(sentence).await;
                }
            }
            Some(Ok(ReplyPart::Action(action))) => self.on_action(action).await,
            Some(Ok(ReplyPart::Done)) | None => self.reply_finished().await,
            Some(Err(e)) => {
                self.reply = None;
                if !matches!(e, OrchestratorError::Timeout { .. }) {
                    tracing::warn!(error = %e, "agent reply failed");
                }
                // The catalog's one agent failure: its error says which.
                self.publish(EventData::LlmTimeout(LlmTimeout {
                    error: e.to_string(),
                }));
                // Whatever was said stays said; the fallback follows it.
                let text = self.deps.config.fallback_text.clone();
                self.splitter = Default::default();
                self.speak_sentence(text).await;
                self.reply_finished().await;
            }
        }
    }

    async fn on_action(&mut self, action: Action) {
        match action {
            Action::Hangup => {
                self.after_speech =
                    AfterSpeech::Hangup(crate::domain::call::EndReason::AgentHangup);
            }
            // Attended: the person's phone rings while the agent finishes
            // its sentence; blind: the caller leaves once it is said.
            Action::Transfer { target } => match self.agent_may_transfer(&target) {
                Err(refusal) => Box::pin(self.refuse_transfer(target, refusal)).await,
                Ok(()) => match self.deps.config.transfer_mode {
                    TransferMode::Attended => Box::pin(self.transfer_attended(target)).await,
                    TransferMode::Blind => self.after_speech = AfterSpeech::Transfer(target),
                },
            },
            Action::SecureInput => self.keys.secure_next(),
            Action::SendDtmf { digits } => {
                if let Err(e) = self
                    .deps
                    .telephony
                    .send_dtmf(&self.inbound.caller, digits.as_str())
                    .await
                {
                    tracing::warn!(error = %e, "sending DTMF failed");
                }
            }
        }
    }

    /// The reply is complete: speak the rest, or act at once if nothing is spoken.
    async fn reply_finished(&mut self) {
        self.reply = None;
        if self.reply_done {
            return;
        }
        self.reply_done = true;
        if let Some(rest) = self.splitter.finish() {
            self.speak_sentence(rest).await;
        }
        match &mut self.tts {
            Some(tts) => {
                let _ = tts.finish();
            }
            // The failure prompt plays: its drain ends the speech.
            None if self.speech_failed && !self.pieces.is_empty() => {}
            None => {
                // Nothing to say (an action alone, or an empty reply).
                if self.phase() == Some(Phase::Thinking) {
                    self.transition(
                        CallInput::NothingToSay,
                        EventData::AgentResponded(Responded::NothingToSay),
                    );
                }
                self.speech_done().await;
            }
        }
    }

    /// Speaks fixed text (greeting, reprompt, goodbye, API `say`).
    pub(super) async fn say(&mut self, text: String, after: AfterSpeech) {
        self.reply = None;
        self.reply_done = false;
        self.after_speech = after;
        self.speak_sentence(text).await;
        self.reply_done = true;
        if let Some(tts) = &mut self.tts {
            let _ = tts.finish();
        }
    }

    /// Hands one sentence to TTS, opening the synthesis on the first.
    async fn speak_sentence(&mut self, sentence: String) {
        if self.speech_failed {
            // Every provider failed this speech already: the rest is lost.
            return;
        }
        if self.tts.is_none() {
            let language = self
                .route
                .as_ref()
                .map_or("en-US".to_owned(), |r| r.language.clone());
            let cfg = TtsConfig {
                voice: None,
                language,
                output: TtsOutput::Native,
            };
            let tts = self.tts_provider.clone();
            match tts.open(cfg).await {
                Ok(s) => {
                    self.tts = Some(s);
                    self.tts_done = false;
                    self.pieces.clear();
                }
                Err(e) => return self.tts_failed(e.to_string()).await,
            }
        }
        match self.phase() {
            Some(Phase::Thinking) => {
                let data = EventData::AgentResponded(Responded::Reply {
                    text: pii::mask(&sentence),
                    latency_ms: self.marks.figures().agent_ms,
                });
                self.transition(CallInput::ReplyStarted, data);
            }
            Some(Phase::Listening) => {
                // A `say` while listening: no `agent.responded`.
                self.transition(CallInput::ReplyStarted, None);
            }
            _ => {}
        }
        self.deadlines.silence = None;
        let Some(tts) = &mut self.tts else { return };
        match tts.send_text(sentence.clone()) {
            Ok(id) => {
                if self.pieces.is_empty() {
                    self.deadlines.tts_first_byte =
                        Some(Instant::now() + self.tts_first_byte_deadline());
                }
                self.pieces.push(Piece {
                    id,
                    text: sentence,
                    audio: Duration::ZERO,
                });
            }
            Err(e) => self.tts_failed(e.to_string()).await,
        }
    }

    pub(super) async fn on_tts(&mut self, event: Option<TtsEvent>) {
        match event {
            Some(TtsEvent::Audio(chunk)) => {
                self.deadlines.tts_first_byte = None;
                self.marks.first_audio.get_or_insert_with(Instant::now);
                if let Some(p) = self.pieces.iter_mut().find(|p| p.id == chunk.piece) {
                    p.audio += chunk.duration();
                }
                let pcm = match chunk.audio {
                    TtsAudio::Linear16(pcm) => pcm,
                    TtsAudio::Mulaw(bytes) => bytes.iter().map(|b| ulaw_to_linear(*b)).collect(),
                };
                self.leg_audio(AudioChunk::Pcm {
                    pcm,
                    rate: chunk.sample_rate,
                });
                self.marks.first_play.get_or_insert_with(Instant::now);
            }
            Some(TtsEvent::Done) | None => {
                self.tts_done = true;
                if let Some(t) = &mut self.tts {
                    t.cancel();
                }
                self.leg_audio(AudioChunk::EndOfSpeech);
                if self.pieces.iter().all(|p| p.audio.is_zero()) {
                    self.speech_done().await;
                }
            }
            Some(TtsEvent::Error(e)) => self.tts_failed(e.to_string()).await,
        }
    }

    /// TTS failed (every provider of the chain): report it, play the
    /// failure prompt if there is one, and carry on without the rest of this
    /// speech.
    pub(super) async fn tts_failed(&mut self, error: String) {
        if self.speech_failed {
            return;
        }
        self.speech_failed = true;
        tracing::warn!(%error, "speech synthesis failed");
        let prompt = self.deps.config.tts_failure_prompt.is_some();
        self.publish(EventData::TtsFailed(TtsFailed {
            error,
            prompt,
            providers: self.tts_names.clone(),
        }));
        if let Some(t) = &mut self.tts {
            t.cancel();
        }
        self.tts_done = true;
        self.deadlines.tts_first_byte = None;
        self.play_failure_prompt();
        self.leg_audio(AudioChunk::EndOfSpeech);
        if self.pieces.iter().all(|p| p.audio.is_zero()) {
            self.speech_done().await;
        }
    }

    /// The media leg has sent everything queued.
    pub(super) async fn on_playback_drained(&mut self) {
        let speaking = self.phase() == Some(Phase::Speaking) || self.attended.is_some();
        if self.tts_done && self.reply_done && speaking {
            self.speech_done().await;
        }
    }

    /// The agent's speech is over: log its figures and do what was asked after it.
    pub(super) async fn speech_done(&mut self) {
        self.tts = None;
        self.speech_failed = false;
        let text: Vec<&str> = self.pieces.iter().map(|p| p.text.as_str()).collect();
        let text = text.join(" ");
        let audio: Duration = self.pieces.iter().map(|p| p.audio).sum();
        let data = EventData::TtsGenerated(Generated {
            text: pii::mask(&text),
            audio_ms: audio.as_millis() as u64,
        });
        if self.phase() == Some(Phase::Speaking) {
            self.transition(CallInput::ReplyFinished, data);
            self.history_agent(text, false);
        } else if self.attended.is_some() && !audio.is_zero() {
            // Said while the person's phone rang: spoken all the same.
            self.publish(data);
        }
        self.close_turn_marks();
        if self.attended.is_some() {
            // The agent's last sentence is out: the transfer may go on.
            self.after_speech = AfterSpeech::Listen;
            return Box::pin(self.progress_transfer()).await;
        }
        match std::mem::replace(&mut self.after_speech, AfterSpeech::Listen) {
            AfterSpeech::Listen => self.listen(),
            AfterSpeech::Hangup(reason) => self.end(reason, true),
            // Boxed: a failed transfer speaks, and speaking can end here again.
            AfterSpeech::Transfer(target) => Box::pin(self.transfer(target)).await,
        }
    }

    /// Records the turn's latency figures once it produced audio.
    pub(super) fn close_turn_marks(&mut self) {
        let marks = std::mem::take(&mut self.marks);
        if marks.request.is_some() && marks.first_play.is_some() {
            self.latencies.push(marks.figures());
            self.history_latency(marks.figures());
        }
    }

    /// The caller spoke over the agent: stop the audio now and cancel the
    /// rest. The barge-in is complete once the leg reports what it cut
    /// (`barge_in_reported`); the loop goes on meanwhile.
    pub(super) fn barge_in(&mut self, onset: Instant) {
        if self.flush.is_some() {
            return;
        }
        let (reply, report) = oneshot::channel();
        // Audio not yet in the pacer (the backlog, the leg's audio channel)
        // is cut too: the new generation makes the leg drop it.
        let generation = self.cut_audio();
        self.leg_send(MediaCommand::Flush { generation, reply });
        if let Some(t) = &mut self.tts {
            t.cancel();
        }
        self.tts = None;
        self.speech_failed = false;
        self.reply = None;
        self.reply_done = true;
        self.tts_done = true;
        self.deadlines.tts_first_byte = None;
        self.flush = Some(PendingFlush {
            onset,
            report,
            // A dead leg answers nothing: its sender is dropped at once.
            deadline: Instant::now() + Duration::from_secs(1),
        });
    }

    /// The leg reported the barge-in's flush (`None`: it could not): report
    /// the barge-in with what the caller heard, and listen to the caller.
    pub(super) fn barge_in_reported(&mut self, onset: Instant, report: Option<FlushReport>) {
        let sent = report.map_or(Duration::ZERO, |r| r.sent);
        let heard = heard_text(&self.pieces, sent);
        let delay_ms = report.and_then(|r| r.last_packet_at).map(|last| {
            Instant::from_std(last)
                .saturating_duration_since(onset)
                .as_secs_f64()
                * 1000.0
        });
        self.barge_ins += 1;
        if let Some(d) = delay_ms {
            self.barge_in_delays_ms.push(d);
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
        self.after_speech = AfterSpeech::Listen;
        self.listen();
        self.deadlines.silence = None;
        self.deadlines.max_turn = Some(onset + self.deps.config.max_turn);
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
