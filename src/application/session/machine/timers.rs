//! The call's deadlines, in one table: the driver sleeps until the nearest.

use std::time::Instant;

/// One deadline of the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timer {
    /// Listening with no speech: reprompt.
    Silence,
    /// Speech ended: end the turn unless it resumes.
    Endpoint,
    /// The recogniser was asked for its final: stop waiting for it.
    FinalResult,
    /// The caller has talked too long: cut the turn.
    MaxTurn,
    /// Text sent to the synthesis and no audio yet.
    TtsFirstByte,
    /// Attended transfer: the person's leg has rung long enough.
    Ring,
    /// Barge-in: the leg answers a flush within one turn of its task; a
    /// stuck one is given up on.
    Flush,
    /// Barge-in hold: decide (speech, or no transcript in time) by then.
    Hold,
    /// The speech's audio is all with the leg: it reports it played out by
    /// then, or the call goes on without the report.
    Drain,
}

const COUNT: usize = 9;

impl Timer {
    fn index(self) -> usize {
        self as usize
    }
}

/// Each timer's deadline, if armed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Timers {
    at: [Option<Instant>; COUNT],
}

impl Timers {
    pub(crate) fn set(&mut self, timer: Timer, at: Instant) {
        self.at[timer.index()] = Some(at);
    }

    pub(crate) fn clear(&mut self, timer: Timer) {
        self.at[timer.index()] = None;
    }

    pub(crate) fn clear_all(&mut self) {
        self.at = Default::default();
    }

    pub(crate) fn get(&self, timer: Timer) -> Option<Instant> {
        self.at[timer.index()]
    }

    pub(crate) fn is_set(&self, timer: Timer) -> bool {
        self.get(timer).is_some()
    }

    /// Disarms `timer` and says whether it was due at `now`.
    pub(crate) fn take_due(&mut self, timer: Timer, now: Instant) -> bool {
        let due = self.get(timer).is_some_and(|at| at <= now);
        if due {
            self.clear(timer);
        }
        due
    }

    /// The nearest deadline.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.at.iter().flatten().min().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_nearest_armed_deadline_is_next_and_taken_once_due() {
        let t0 = Instant::now();
        let mut t = Timers::default();
        assert_eq!(t.next(), None);
        t.set(Timer::Silence, t0 + Duration::from_secs(5));
        t.set(Timer::Endpoint, t0 + Duration::from_secs(1));
        assert_eq!(t.next(), Some(t0 + Duration::from_secs(1)));
        assert!(!t.take_due(Timer::Endpoint, t0));
        assert!(t.take_due(Timer::Endpoint, t0 + Duration::from_secs(1)));
        assert!(!t.is_set(Timer::Endpoint));
        assert_eq!(t.next(), Some(t0 + Duration::from_secs(5)));
        t.clear_all();
        assert_eq!(t.next(), None);
    }
}
