//! The transition function.

use super::{CallState, Direction, EndReason, Phase};
use crate::domain::events::EventType;
use std::time::SystemTime;

/// Something that happened to a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallInput {
    /// Inbound: the call is in Stasis, ringing.
    InboundArrived,
    /// Outbound: originate sent.
    Originate,
    /// Outbound: the far end rings.
    Ringing,
    /// Answered.
    Answered,
    /// Media is up: the conversation starts, with the agent speaking the greeting
    /// (`greeting: true`) or listening.
    Converse {
        /// Whether a greeting is played first.
        greeting: bool,
    },
    /// The caller's turn ended (STT final + endpointing).
    EndOfTurn,
    /// A DTMF digit arrived; in `Speaking` it interrupts like a barge-in.
    Dtmf,
    /// The first reply audio is being played.
    ReplyStarted,
    /// The reply finished playing.
    ReplyFinished,
    /// The agent answered with nothing to say (an action only, or empty).
    NothingToSay,
    /// The caller spoke over the agent.
    BargeIn,
    /// A transfer to a person began.
    TransferStarted,
    /// The person took the call.
    TransferCompleted,
    /// The person did not answer (or the transfer failed); back to the AI,
    /// which says so.
    TransferFailed,
    /// Outbound outcomes.
    Busy,
    /// Outbound: nobody answered.
    NoAnswer,
    /// Outbound: the network refused it.
    Failed,
    /// The call is over for this reason.
    End(EndReason),
}

/// An input that the current state does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not allowed in state {from}")]
pub struct TransitionError {
    /// The state the call was in (unchanged).
    pub from: CallState,
    /// The rejected input.
    pub input: CallInput,
}

/// A call's lifecycle: state plus the times that `call.ended` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    direction: Direction,
    state: CallState,
    started_at: SystemTime,
    answered_at: Option<SystemTime>,
    ended_at: Option<SystemTime>,
    turns: u32,
}

impl Call {
    /// A new call, in `Created`.
    pub fn new(direction: Direction, now: SystemTime) -> Self {
        Self {
            direction,
            state: CallState::Created,
            started_at: now,
            answered_at: None,
            ended_at: None,
            turns: 0,
        }
    }

    /// A call answered elsewhere (by another gateway instance that died),
    /// taken over in `Answered`: its conversation goes on from there.
    pub fn resumed(direction: Direction, started_at: SystemTime, answered_at: SystemTime) -> Self {
        Self {
            direction,
            state: CallState::Answered,
            started_at,
            answered_at: Some(answered_at),
            ended_at: None,
            turns: 0,
        }
    }

    /// Current state.
    pub fn state(&self) -> &CallState {
        &self.state
    }

    /// Inbound or outbound.
    pub fn direction(&self) -> Direction {
        self.direction
    }

    /// When answered, if it was.
    pub fn answered_at(&self) -> Option<SystemTime> {
        self.answered_at
    }

    /// When it ended, if it has.
    pub fn ended_at(&self) -> Option<SystemTime> {
        self.ended_at
    }

    /// When the gateway first knew of it.
    pub fn started_at(&self) -> SystemTime {
        self.started_at
    }

    /// Caller turns completed (end of turn or DTMF reaching the agent).
    pub fn turns(&self) -> u32 {
        self.turns
    }

    /// Applies `input` at `now`. On success the state has changed and the
    /// returned catalog events describe the change; on error nothing changed.
    pub fn apply(
        &mut self,
        input: CallInput,
        now: SystemTime,
    ) -> Result<Vec<EventType>, TransitionError> {
        use CallInput as I;
        use CallState as S;
        use EventType as E;
        use Phase::*;
        let inbound = self.direction == Direction::Inbound;
        let (next, events): (CallState, Vec<EventType>) = match (&self.state, &input) {
            (S::Created, I::InboundArrived) if inbound => (S::Ringing, vec![E::CallStarted]),
            (S::Created, I::Originate) if !inbound => (S::Originating, vec![E::CallStarted]),
            (S::Originating, I::Ringing) => (S::Ringing, vec![E::CallRinging]),
            // Asterisk may report the answer without a ringing state first.
            (S::Ringing | S::Originating, I::Answered) => (S::Answered, vec![E::CallAnswered]),
            (S::Answered, I::Converse { greeting }) => (
                S::Active {
                    phase: if *greeting { Speaking } else { Listening },
                },
                vec![],
            ),
            (S::Active { phase: Listening }, I::EndOfTurn) => {
                (S::Active { phase: Thinking }, vec![E::SttTranscribed])
            }
            (
                S::Active {
                    phase: Listening | Thinking,
                },
                I::Dtmf,
            ) => (S::Active { phase: Thinking }, vec![E::CallDtmf]),
            (S::Active { phase: Speaking }, I::Dtmf) => {
                (S::Active { phase: Thinking }, vec![E::CallDtmf])
            }
            (S::Active { phase: Thinking }, I::ReplyStarted) => {
                (S::Active { phase: Speaking }, vec![E::AgentResponded])
            }
            // An API `say` can start speech while listening.
            (S::Active { phase: Listening }, I::ReplyStarted) => {
                (S::Active { phase: Speaking }, vec![])
            }
            (S::Active { phase: Speaking }, I::ReplyFinished) => {
                (S::Active { phase: Listening }, vec![E::TtsGenerated])
            }
            (S::Active { phase: Speaking }, I::BargeIn) => {
                (S::Active { phase: Listening }, vec![E::CallBargein])
            }
            (S::Active { phase: Thinking }, I::NothingToSay) => {
                (S::Active { phase: Listening }, vec![E::AgentResponded])
            }
            (S::Active { .. }, I::TransferStarted) => (S::Transferring, vec![E::CallEscalated]),
            (S::Transferring, I::TransferCompleted) => (
                S::Ended {
                    reason: EndReason::Transferred,
                },
                vec![E::CallTransferred, E::CallEnded],
            ),
            // Nobody took the call: the escalation is reported again, as failed,
            // and the AI speaks (it says so).
            (S::Transferring, I::TransferFailed) => {
                (S::Active { phase: Speaking }, vec![E::CallEscalated])
            }
            (S::Originating | S::Ringing, I::Busy) if !inbound => (S::Busy, vec![E::CallEnded]),
            (S::Originating | S::Ringing, I::NoAnswer) if !inbound => {
                (S::NoAnswer, vec![E::CallEnded])
            }
            (S::Originating | S::Ringing, I::Failed) if !inbound => (S::Failed, vec![E::CallEnded]),
            (s, I::End(reason)) if !s.is_terminal() => (
                S::Ended {
                    reason: reason.clone(),
                },
                vec![E::CallEnded],
            ),
            _ => {
                return Err(TransitionError {
                    from: self.state.clone(),
                    input,
                });
            }
        };
        if matches!(input, I::EndOfTurn | I::Dtmf) {
            self.turns += 1;
        }
        if next == S::Answered {
            self.answered_at = Some(now);
        }
        if next.is_terminal() {
            self.ended_at = Some(now);
        }
        self.state = next;
        Ok(events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn t(s: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_800_000_000 + s)
    }

    #[test]
    fn an_inbound_conversation_yields_the_catalog_events() {
        let mut c = Call::new(Direction::Inbound, t(0));
        let mut events = vec![];
        for (i, input) in [
            CallInput::InboundArrived,
            CallInput::Answered,
            CallInput::Converse { greeting: true },
            CallInput::ReplyFinished,
            CallInput::EndOfTurn,
            CallInput::ReplyStarted,
            CallInput::BargeIn,
            CallInput::EndOfTurn,
            CallInput::ReplyStarted,
            CallInput::Dtmf,
            CallInput::ReplyStarted,
            CallInput::End(EndReason::CallerHangup),
        ]
        .into_iter()
        .enumerate()
        {
            events.extend(c.apply(input, t(i as u64)).unwrap());
        }
        use EventType::*;
        assert_eq!(
            events,
            [
                CallStarted,
                CallAnswered,
                TtsGenerated,
                SttTranscribed,
                AgentResponded,
                CallBargein,
                SttTranscribed,
                AgentResponded,
                CallDtmf,
                AgentResponded,
                CallEnded
            ]
        );
        assert_eq!(
            c.state(),
            &CallState::Ended {
                reason: EndReason::CallerHangup
            }
        );
        assert_eq!(c.turns(), 3);
        assert_eq!(c.answered_at(), Some(t(1)));
        assert_eq!(c.ended_at(), Some(t(11)));
    }

    #[test]
    fn outbound_outcomes_are_terminal() {
        for (outcome, state) in [
            (CallInput::Busy, CallState::Busy),
            (CallInput::NoAnswer, CallState::NoAnswer),
            (CallInput::Failed, CallState::Failed),
        ] {
            let mut c = Call::new(Direction::Outbound, t(0));
            c.apply(CallInput::Originate, t(0)).unwrap();
            assert_eq!(
                c.apply(CallInput::Ringing, t(1)).unwrap(),
                [EventType::CallRinging]
            );
            assert_eq!(c.apply(outcome, t(30)).unwrap(), [EventType::CallEnded]);
            assert_eq!(c.state(), &state);
            let e = c.apply(CallInput::Answered, t(31)).unwrap_err();
            assert_eq!(e.from, state, "terminal states accept nothing");
            let e = c
                .apply(CallInput::End(EndReason::CallerHangup), t(31))
                .unwrap_err();
            assert_eq!(e.from, state);
        }
    }

    #[test]
    fn transfers_end_the_call_or_return_to_the_agent() {
        let mut c = Call::new(Direction::Outbound, t(0));
        for i in [
            CallInput::Originate,
            CallInput::Answered,
            CallInput::Converse { greeting: false },
        ] {
            c.apply(i, t(1)).unwrap();
        }
        assert_eq!(
            c.apply(CallInput::TransferStarted, t(2)).unwrap(),
            [EventType::CallEscalated]
        );
        assert_eq!(
            c.apply(CallInput::TransferFailed, t(3)).unwrap(),
            [EventType::CallEscalated]
        );
        assert_eq!(
            c.state(),
            &CallState::Active {
                phase: Phase::Speaking
            }
        );
        c.apply(CallInput::TransferStarted, t(4)).unwrap();
        assert_eq!(
            c.apply(CallInput::TransferCompleted, t(5)).unwrap(),
            [EventType::CallTransferred, EventType::CallEnded]
        );
        assert_eq!(c.state().record_name(), "ended");
    }

    #[test]
    fn illegal_transitions_are_rejected_and_change_nothing() {
        let mut c = Call::new(Direction::Inbound, t(0));
        for bad in [
            CallInput::Originate,
            CallInput::Answered,
            CallInput::EndOfTurn,
            CallInput::Busy,
        ] {
            let e = c.apply(bad.clone(), t(0)).unwrap_err();
            assert_eq!(e.input, bad);
            assert_eq!(c.state(), &CallState::Created);
        }
        c.apply(CallInput::InboundArrived, t(0)).unwrap();
        let e = c.apply(CallInput::NoAnswer, t(1)).unwrap_err();
        assert!(
            e.to_string().contains("not allowed in state Ringing"),
            "{e}"
        );
        c.apply(CallInput::Answered, t(1)).unwrap();
        c.apply(CallInput::Converse { greeting: false }, t(1))
            .unwrap();
        assert!(
            c.apply(CallInput::BargeIn, t(2)).is_err(),
            "no barge-in while listening"
        );
        assert!(c.apply(CallInput::ReplyFinished, t(2)).is_err());
        assert_eq!(c.turns(), 0, "rejected inputs count nothing");
    }
}
