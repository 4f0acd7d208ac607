//! The core driven without tokio: a synchronous driver double (`Sim`) that
//! answers effects the way `session::run` does, table tests of each
//! transition (`table`) and seeded random interleavings (`random`).

mod hold;
mod random;
mod table;
mod takeover;

use super::{CallCore, Effect, Input, Now};
use crate::{
    application::{
        ports::directory::Route,
        session::{InboundCall, SessionConfig},
    },
    domain::{
        AgentId, CallId, Did, TenantId,
        call::{CallInput, Phase},
        events::{EventData, EventType},
    },
};
use ari::ChannelId;
use std::{
    sync::Arc,
    time::{Duration, Instant, SystemTime},
};

pub(super) const CALLER: &str = "caller-1";

pub(super) fn route(greeting: Option<&str>) -> Route {
    Route {
        greeting: greeting.map(str::to_owned),
        ..Route::outbound(
            TenantId::parse("acme").unwrap(),
            AgentId::parse("support").unwrap(),
        )
    }
}

/// How the double answers the effects that have a result.
#[derive(Debug, Clone, Copy)]
pub(super) struct Answers {
    pub(super) tts_opens: bool,
    pub(super) stt_opens: bool,
    pub(super) continue_ok: bool,
    pub(super) originate_ok: bool,
    pub(super) join_ok: bool,
}

impl Default for Answers {
    fn default() -> Self {
        Self {
            tts_opens: true,
            stt_opens: true,
            continue_ok: true,
            originate_ok: true,
            join_ok: true,
        }
    }
}

/// A call core with a synchronous driver: every effect is recorded, and
/// those with a result are answered at once, before the next is taken.
pub(super) struct Sim {
    pub(super) core: CallCore,
    pub(super) now: Now,
    pub(super) out: Vec<Effect>,
    pub(super) answers: Answers,
}

impl Sim {
    /// A call answered and conversing (greeting or not).
    pub(super) fn new(cfg: SessionConfig, greeting: Option<&str>) -> Self {
        let mut sim = Self::answered(cfg, greeting);
        sim.core.converse(greeting.map(str::to_owned));
        sim.drain();
        sim
    }

    /// A call answered whose agent or recogniser could not be had.
    pub(super) fn failing_start(cfg: SessionConfig, why: super::StartFailure) -> Self {
        let mut sim = Self::answered(cfg, None);
        sim.core.cannot_start(why);
        sim.drain();
        sim
    }

    /// [`Sim::failing_start`] on a route whose `on_start_failure` transfers
    /// to `target`; the transfer succeeds when `continue_ok`.
    pub(super) fn failing_start_to(
        why: super::StartFailure,
        target: &str,
        continue_ok: bool,
    ) -> Self {
        let mut sim = Self::answered(SessionConfig::default(), None);
        let mut route = route(None);
        route.on_start_failure =
            Some(crate::domain::transfer::TransferTarget::parse(target).unwrap());
        sim.core.routed(route, Vec::new(), Vec::new());
        sim.answers.continue_ok = continue_ok;
        sim.core.cannot_start(why);
        sim.drain();
        sim
    }

    fn answered(cfg: SessionConfig, greeting: Option<&str>) -> Self {
        let now = Now {
            at: Instant::now(),
            wall: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        };
        let inbound = InboundCall {
            caller: ChannelId::new(CALLER),
            channel_name: "PJSIP/trunk-1".into(),
            did: Did::parse("+15550001111").unwrap(),
            caller_number: "+15550002222".into(),
            outbound: None,
        };
        let call_id = CallId::parse("5b3c9f5e-0000-4000-8000-000000000001").unwrap();
        let core = CallCore::new(Arc::new(cfg), call_id, inbound, now);
        let mut sim = Self {
            core,
            now,
            out: Vec::new(),
            answers: Answers::default(),
        };
        sim.core.routed(route(greeting), Vec::new(), Vec::new());
        let started = sim.core.started_data();
        sim.core.transition(CallInput::InboundArrived, started);
        sim.core.transition(
            CallInput::Answered,
            EventData::CallAnswered(Default::default()),
        );
        sim
    }

    pub(super) fn input(&mut self, input: Input) {
        self.core.handle(self.now, input);
        self.drain();
    }

    pub(super) fn advance(&mut self, by: Duration) {
        self.now.at += by;
        self.now.wall += by;
    }

    /// The caller says `text` while the call listens; the agent thinks.
    pub(super) fn say(&mut self, text: &str) {
        self.input(Input::SpeechStarted {
            at: self.now.at,
            echo: false,
        });
        self.input(Input::SpeechEnded { at: self.now.at });
        self.fire();
        self.input(Input::SttFinal {
            text: text.into(),
            confidence: Some(0.9),
        });
        assert_eq!(self.phase(), Some(Phase::Thinking));
    }

    /// Moves the clock to the next deadline and handles it; false if none.
    pub(super) fn fire(&mut self) -> bool {
        let Some(at) = self.core.poll_timeout() else {
            return false;
        };
        if at > self.now.at {
            self.advance(at - self.now.at);
        }
        self.core.handle_timeout(self.now);
        self.drain();
        true
    }

    fn drain(&mut self) {
        while let Some(effect) = self.core.poll_effect() {
            let answer = self.answer(&effect);
            self.out.push(effect);
            if let Some(input) = answer {
                self.core.handle(self.now, input);
            }
        }
    }

    fn answer(&self, effect: &Effect) -> Option<Input> {
        let a = self.answers;
        match effect {
            Effect::OpenTts { .. } if a.tts_opens => Some(Input::TtsOpened),
            Effect::OpenTts { .. } => Some(Input::TtsFailed("refused".into())),
            Effect::OpenStt if a.stt_opens => Some(Input::SttOpened),
            Effect::OpenStt => Some(Input::SttOpenFailed("refused".into())),
            Effect::Continue(_) if a.continue_ok => Some(Input::Continued(Ok(()))),
            Effect::Continue(_) => Some(Input::Continued(Err("422".into()))),
            Effect::Originate(_) if !a.originate_ok => {
                Some(Input::OriginateFailed("refused".into()))
            }
            Effect::JoinPerson if a.join_ok => Some(Input::PersonJoined(Ok(()))),
            Effect::JoinPerson => Some(Input::PersonJoined(Err("gone".into()))),
            _ => None,
        }
    }

    /// The effects since the last call, leaving none.
    pub(super) fn take(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.out)
    }

    pub(super) fn phase(&self) -> Option<Phase> {
        self.core.phase()
    }
}

/// The event types published among `effects`, in order.
pub(super) fn events(effects: &[Effect]) -> Vec<EventType> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Publish(ev) => Some(ev.event_type),
            _ => None,
        })
        .collect()
}

/// The data of the first published event of type `t`.
pub(super) fn data(effects: &[Effect], t: EventType) -> serde_json::Value {
    effects
        .iter()
        .find_map(|e| match e {
            Effect::Publish(ev) if ev.event_type == t => Some(ev.data.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no {t} among {effects:?}"))
}

/// A short name per effect, for tables.
pub(super) fn names(effects: &[Effect]) -> Vec<String> {
    effects
        .iter()
        .filter(|e| !matches!(e, Effect::Save(_)))
        .map(|e| match e {
            Effect::Publish(ev) => ev.event_type.to_string(),
            Effect::Play(crate::application::ports::media::AudioChunk::EndOfSpeech) => {
                "Play(end)".into()
            }
            Effect::Play(_) => "Play".into(),
            Effect::OpenTts { .. } => "OpenTts".into(),
            Effect::SpeakText(t) => format!("Speak({t})"),
            Effect::SendTurn(t) => {
                format!("SendTurn({}{})", t.text, t.dtmf.as_deref().unwrap_or(""))
            }
            Effect::Release { hang_up_caller } => format!("Release({hang_up_caller})"),
            Effect::End(e) => format!("End({})", e.reason),
            other => {
                let s = format!("{other:?}");
                s.split(['(', ' ', '{'])
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            }
        })
        .collect()
}
