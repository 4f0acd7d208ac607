//! The synthesis of a speech: opening it, text in, audio out, failure.

use super::{
    CallCore, Effect,
    conversation::{Piece, Tts},
    timers::Timer,
};
use crate::{
    application::ports::{
        media::AudioChunk,
        speech::{TtsAudio, TtsChunk},
    },
    domain::{
        call::{CallInput, Phase},
        events::{EventData, Responded, TtsFailed},
        pii,
    },
};
use std::time::Duration;

/// The piece id the failure prompt is recorded under (synthesis ids count from 0).
const PROMPT_PIECE: u32 = u32::MAX;

impl CallCore {
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
    pub(super) fn send_sentence(&mut self, sentence: String) {
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
            let now = self.now.at;
            self.log.marks.tts_request.get_or_insert(now);
        }
        self.emit(Effect::SpeakText(sentence));
    }

    /// How long the call waits for the first audio of a speech: each
    /// provider of the chain may use its whole timeout before the chain
    /// switches, and the chain needs a moment to report that the last failed.
    pub(super) fn tts_first_byte_deadline(&self) -> Duration {
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

    /// The turn's first agent audio is on the wire (for its trace; the
    /// figures count to the audio handed to the leg).
    pub(super) fn on_first_packet(&mut self, at: std::time::Instant) {
        if self.log.marks.first_play.is_some() {
            self.log.marks.first_packet.get_or_insert(at);
        }
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
        tracing::debug!(
            silent,
            audio_ms = speech.audio().as_millis() as u64,
            "synthesis done"
        );
        self.emit(Effect::CloseTts);
        self.emit(Effect::Play(AudioChunk::EndOfSpeech));
        if silent {
            self.speech_done();
        } else {
            self.expect_drain();
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
        // Nothing to wait for, unless the reply goes on: its actions still count.
        if self
            .speech_mut()
            .is_some_and(|s| s.silent() && s.reply.is_none())
        {
            self.speech_done();
        } else {
            self.expect_drain();
        }
    }

    /// The speech's audio is all on its way to the leg: its report that it
    /// played out is due within that much audio (at most) plus the grace.
    fn expect_drain(&mut self) {
        let Some(audio) = self.speech_mut().map(|s| s.audio()) else {
            return;
        };
        let at = self.now.at + audio + self.cfg.playback_drain_grace;
        self.timers.set(Timer::Drain, at);
    }

    /// Every synthesiser failed this speech: play the configured prompt in
    /// its place, through the pacer like speech (so barge-in stops it), once
    /// per speech.
    pub(super) fn play_failure_prompt(&mut self) {
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
}

/// G.711 µ-law to linear (ITU-T G.711), for providers that send µ-law.
fn ulaw_to_linear(b: u8) -> i16 {
    let b = !b;
    let t = ((i32::from(b & 0x0F) << 3) + 0x84) << ((b & 0x70) >> 4);
    (if b & 0x80 != 0 { 0x84 - t } else { t - 0x84 }) as i16
}
