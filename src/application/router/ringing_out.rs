//! The decisions about an outbound call not answered yet, without I/O: what
//! each [`Progress`] does to its state and what the router must then do.
//!
//! A failed originate still answers 200: busy, no answer and congestion
//! arrive only as `Dial` statuses and a `ChannelDestroyed` whose cause is
//! often just 0, so the last status is remembered ([`Unanswered::from_dial`]).

use super::classify::Progress;
use crate::{
    application::dial::Unanswered,
    domain::call::{Call, CallInput, EndReason},
};
use ari::events::DialStatus;
use std::time::SystemTime;

/// An outbound call's state while it rings out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Dialling {
    pub(super) call: Call,
    /// The last `Dial` status other than `Started`.
    last_status: Option<DialStatus>,
}

/// What the router must do after a [`Progress`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Step {
    /// Nothing anyone needs to hear of.
    Nothing,
    /// It rings now: publish `call.ringing`, store the record.
    Ringing,
    /// It answered: publish `call.answered`, start its session.
    Answered,
    /// It will not be answered: store the record, publish `call.ended`,
    /// write its history, forget it.
    Ended(EndReason),
    /// Its state allows no answer: forget it without a word.
    Dropped,
}

impl Dialling {
    /// A call whose originate is being sent (state `originating`).
    pub(super) fn originate(now: SystemTime) -> Self {
        let mut call = Call::new(crate::domain::call::Direction::Outbound, now);
        call.apply(CallInput::Originate, now)
            .expect("Created accepts Originate");
        Self {
            call,
            last_status: None,
        }
    }

    /// A call another instance placed, taken over while it rings out:
    /// `originating` from `started` on, `ringing` too when its record says
    /// so (its `call.ringing` went out then).
    pub(super) fn taken_over(started: SystemTime, ringing: bool) -> Self {
        let mut d = Self::originate(started);
        if ringing {
            let _ = d.ringing(started);
        }
        d
    }

    /// Applies one progress at `now`.
    pub(super) fn step(&mut self, progress: &Progress, now: SystemTime) -> Step {
        match progress {
            Progress::Dial(status) => {
                if !matches!(status, DialStatus::Started) {
                    self.last_status = Some(status.clone());
                }
                if matches!(status, DialStatus::Ringing | DialStatus::Progress) {
                    self.ringing(now)
                } else {
                    Step::Nothing
                }
            }
            Progress::Ringing => self.ringing(now),
            Progress::Answered { .. } => match self.call.apply(CallInput::Answered, now) {
                Ok(_) => Step::Answered,
                Err(_) => Step::Dropped,
            },
            Progress::Gone { cause } => {
                let (input, reason) = match Unanswered::from_dial(self.last_status.as_ref(), *cause)
                {
                    Unanswered::Busy => (CallInput::Busy, EndReason::Busy),
                    Unanswered::NoAnswer => (CallInput::NoAnswer, EndReason::NoAnswer),
                    Unanswered::Failed => (CallInput::Failed, EndReason::Failed),
                };
                self.end(input, reason, now)
            }
            Progress::OriginateRefused { error } => {
                self.end(CallInput::Failed, EndReason::Error(error.clone()), now)
            }
        }
    }

    /// Ringing once: a second ringing is not a transition.
    fn ringing(&mut self, now: SystemTime) -> Step {
        match self.call.apply(CallInput::Ringing, now) {
            Ok(_) => Step::Ringing,
            Err(_) => Step::Nothing,
        }
    }

    fn end(&mut self, input: CallInput, reason: EndReason, now: SystemTime) -> Step {
        let _ = self.call.apply(input, now);
        Step::Ended(reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::call::CallState;
    use std::time::Duration;

    fn t(s: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + s)
    }

    fn dial(s: DialStatus) -> Progress {
        Progress::Dial(s)
    }

    fn answered() -> Progress {
        Progress::Answered {
            channel_name: "PJSIP/trunk-2".into(),
        }
    }

    /// Feeds `progress` to a fresh call; returns every step and the final state.
    fn run(progress: &[Progress]) -> (Vec<Step>, CallState, Option<SystemTime>) {
        let mut d = Dialling::originate(t(0));
        let steps = progress
            .iter()
            .enumerate()
            .map(|(i, p)| d.step(p, t(i as u64 + 1)))
            .collect();
        (steps, d.call.state().clone(), d.call.ended_at())
    }

    /// A name, the progress of a dial, the steps it gives and the state it leaves.
    type Case = (&'static str, Vec<Progress>, Vec<Step>, CallState);

    fn cases() -> Vec<Case> {
        use DialStatus as D;
        use Step::*;
        let gone = |cause| Progress::Gone { cause };
        vec![
            (
                "started is not remembered, progress rings",
                vec![dial(D::Started), dial(D::Progress)],
                vec![Nothing, Ringing],
                CallState::Ringing,
            ),
            (
                "ringing twice publishes once",
                vec![dial(D::Ringing), Progress::Ringing, dial(D::Ringing)],
                vec![Ringing, Nothing, Nothing],
                CallState::Ringing,
            ),
            (
                "answered without ringing",
                vec![answered()],
                vec![Answered],
                CallState::Answered,
            ),
            (
                "answered after ringing",
                vec![Progress::Ringing, answered()],
                vec![Ringing, Answered],
                CallState::Answered,
            ),
            (
                "busy by status, whatever the cause",
                vec![dial(D::Busy), gone(0)],
                vec![Nothing, Ended(EndReason::Busy)],
                CallState::Busy,
            ),
            (
                "busy by cause when no status came",
                vec![gone(17)],
                vec![Ended(EndReason::Busy)],
                CallState::Busy,
            ),
            (
                "rang out: no answer",
                vec![dial(D::Ringing), gone(0)],
                vec![Ringing, Ended(EndReason::NoAnswer)],
                CallState::NoAnswer,
            ),
            (
                "a later Started does not hide the ringing",
                vec![dial(D::Ringing), dial(D::Started), gone(0)],
                vec![Ringing, Nothing, Ended(EndReason::NoAnswer)],
                CallState::NoAnswer,
            ),
            (
                "congestion fails",
                vec![dial(D::Congestion), gone(34)],
                vec![Nothing, Ended(EndReason::Failed)],
                CallState::Failed,
            ),
            (
                "gone with nothing known fails",
                vec![gone(0)],
                vec![Ended(EndReason::Failed)],
                CallState::Failed,
            ),
            (
                "the originate refused",
                vec![Progress::OriginateRefused {
                    error: "400 Bad Request".into(),
                }],
                vec![Ended(EndReason::Error("400 Bad Request".into()))],
                CallState::Failed,
            ),
        ]
    }

    #[test]
    fn each_progress_gives_its_state_and_step() {
        for (name, progress, want_steps, want_state) in cases() {
            let (steps, state, ended_at) = run(&progress);
            assert_eq!(steps, want_steps, "{name}");
            assert_eq!(state, want_state, "{name}");
            let ended = matches!(want_steps.last(), Some(Step::Ended(_)));
            assert_eq!(
                ended_at,
                ended.then(|| t(progress.len() as u64)),
                "{name}: ended at the last step"
            );
        }
    }

    #[test]
    fn an_answer_after_the_end_is_dropped() {
        let mut d = Dialling::originate(t(0));
        assert_eq!(
            d.step(&Progress::Gone { cause: 17 }, t(1)),
            Step::Ended(EndReason::Busy)
        );
        assert_eq!(d.step(&answered(), t(2)), Step::Dropped);
    }
}
