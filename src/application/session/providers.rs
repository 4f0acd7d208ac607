//! The call's speech providers: the route's choice, resolved once at setup,
//! and the pre-recorded prompt played when every synthesiser failed.

use super::run::{Piece, Session};
use crate::{
    application::ports::{media::AudioChunk, speech::SpeechChoice},
    domain::{
        call::{CallInput, Phase},
        events::{EventData, Responded},
    },
};
use std::time::Duration;

/// The piece id the failure prompt is recorded under (TTS ids count from 0).
const PROMPT_PIECE: u32 = u32::MAX;

impl Session {
    /// Takes the providers the route names. A choice the catalog cannot serve
    /// (a database route naming an unknown or unconfigured provider; routes of
    /// the configuration file were checked at start) is logged and the
    /// instance default serves: the call must not fail for it.
    pub(super) fn choose_speech(&mut self) {
        let (Some(catalog), Some(route)) = (self.deps.speech.clone(), self.route.as_ref()) else {
            return;
        };
        let (stt, tts) = (route.stt_choice(), route.tts_choice());
        let default = SpeechChoice::default();
        let stt = catalog.stt(&stt).or_else(|e| {
            warn_default(&self.tenant, "stt", &stt, &e);
            catalog.stt(&default)
        });
        if let Ok(chosen) = stt {
            self.stt_provider = chosen.provider;
            self.stt_names = chosen.names;
        }
        let tts = catalog.tts(&tts).or_else(|e| {
            warn_default(&self.tenant, "tts", &tts, &e);
            catalog.tts(&default)
        });
        if let Ok(chosen) = tts {
            self.tts_provider = chosen.provider;
            self.tts_names = chosen.names;
        }
        tracing::debug!(stt = ?self.stt_names, tts = ?self.tts_names, "speech providers");
    }

    /// How long the session waits for the first audio of a speech: each
    /// provider of the chain may use its whole timeout before the chain
    /// switches, and the chain needs a moment to report that the last failed.
    pub(super) fn tts_first_byte_deadline(&self) -> Duration {
        let per = self.deps.config.tts_first_byte_timeout;
        match self.tts_names.len() {
            0 | 1 => per,
            n => per * n as u32 + Duration::from_secs(1),
        }
    }

    /// Every synthesiser failed this speech: play the configured prompt in its
    /// place, through the pacer like speech (so barge-in stops it), once per
    /// speech. Returns whether a prompt is playing.
    pub(super) fn play_failure_prompt(&mut self) -> bool {
        let Some(prompt) = self.deps.config.tts_failure_prompt.clone() else {
            return false;
        };
        if self.pieces.iter().any(|p| p.id == PROMPT_PIECE) {
            return true;
        }
        if matches!(self.phase(), Some(Phase::Thinking | Phase::Listening)) {
            self.transition(
                CallInput::ReplyStarted,
                EventData::AgentResponded(Responded::Prompt),
            );
        }
        self.deadlines.silence = None;
        self.leg_audio(AudioChunk::Pcm {
            pcm: prompt.pcm.to_vec(),
            rate: prompt.rate,
        });
        self.pieces.push(Piece {
            id: PROMPT_PIECE,
            text: String::new(),
            audio: prompt.duration(),
        });
        true
    }
}

fn warn_default(
    tenant: &crate::domain::TenantId,
    direction: &str,
    choice: &SpeechChoice,
    error: &crate::application::ports::speech::CatalogError,
) {
    tracing::warn!(
        %tenant, direction, choice = %choice, %error,
        "the route's speech providers cannot be used; the instance default serves this call"
    );
}
