//! Per-turn latency marks: where the time between the caller's last word and
//! the agent's first sound went.

use crate::application::ports::traces::{StageSpan, TurnStage};
pub use crate::domain::events::TurnLatency;
use std::time::{Instant, SystemTime};

/// Marks of one turn, set as the turn goes.
#[derive(Debug, Clone, Default)]
pub(super) struct Marks {
    pub(super) speech_end: Option<Instant>,
    pub(super) stt_final: Option<Instant>,
    pub(super) request: Option<Instant>,
    pub(super) first_token: Option<Instant>,
    /// The reply's first sentence sent to the synthesis (traces only).
    pub(super) tts_request: Option<Instant>,
    pub(super) first_audio: Option<Instant>,
    pub(super) first_play: Option<Instant>,
    /// The leg sent the first packet of that audio (traces only).
    pub(super) first_packet: Option<Instant>,
}

fn ms(a: Option<Instant>, b: Option<Instant>) -> Option<f64> {
    Some(b?.checked_duration_since(a?)?.as_secs_f64() * 1000.0)
}

impl Marks {
    pub(super) fn figures(&self) -> TurnLatency {
        TurnLatency {
            stt_ms: ms(self.speech_end, self.stt_final),
            agent_ms: ms(self.request, self.first_token),
            tts_ms: ms(self.first_token, self.first_audio),
            media_ms: ms(self.first_audio, self.first_play),
            total_ms: ms(self.speech_end.or(self.request), self.first_play),
        }
    }
}

impl Marks {
    /// The turn's stages as spans of caller turn `turn`; `(at, wall)` is one
    /// reading of both clocks, to place the core's monotonic marks in time.
    pub(super) fn stages(&self, turn: u32, at: Instant, wall: SystemTime) -> Vec<StageSpan> {
        let to_wall = |t: Instant| wall.checked_sub(at.checked_duration_since(t)?);
        let pairs = [
            (TurnStage::SpeechToText, self.speech_end, self.stt_final),
            (TurnStage::Agent, self.request, self.first_token),
            (TurnStage::TextToSpeech, self.tts_request, self.first_audio),
            (
                TurnStage::FirstPacket,
                self.first_audio,
                self.first_packet.or(self.first_play),
            ),
        ];
        pairs
            .into_iter()
            .filter_map(|(stage, a, b)| {
                let (start, end) = (to_wall(a?)?, to_wall(b?)?);
                (end >= start).then_some(StageSpan {
                    stage,
                    turn,
                    start,
                    end,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    #[allow(clippy::disallowed_methods)] // any instant will do
    fn stages_are_placed_on_the_wall_clock_in_order() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let marks = Marks {
            speech_end: Some(ms(0)),
            stt_final: Some(ms(100)),
            request: Some(ms(110)),
            first_token: Some(ms(400)),
            tts_request: Some(ms(420)),
            first_audio: Some(ms(600)),
            first_play: Some(ms(601)),
            first_packet: Some(ms(625)),
        };
        let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let stages = marks.stages(3, ms(1_000), wall);
        let names: Vec<_> = stages.iter().map(|s| s.stage).collect();
        assert_eq!(
            names,
            [
                TurnStage::SpeechToText,
                TurnStage::Agent,
                TurnStage::TextToSpeech,
                TurnStage::FirstPacket
            ]
        );
        assert_eq!(stages[0].start, wall - Duration::from_millis(1_000));
        assert_eq!(stages[1].end - Duration::from_millis(290), stages[1].start);
        assert!(stages.iter().all(|s| s.turn == 3));
        assert_eq!(
            stages[3].end.duration_since(stages[3].start).unwrap(),
            Duration::from_millis(25)
        );
        // A greeting has no end of speech: no STT stage.
        let greeting = Marks {
            speech_end: None,
            stt_final: None,
            ..marks
        };
        assert_eq!(greeting.stages(0, ms(1_000), wall).len(), 3);
    }
}
