//! What a dial that was never answered amounts to, from Asterisk's events.
//!
//! What the real Asterisk does (fixture 04): a failed originate still answers
//! 200; busy, no answer and congestion arrive only as `Dial` statuses and a
//! `ChannelDestroyed` whose cause on the originated channel is often just 0.
//! So the last `Dial` status decides, and the cause only when there was none.
//! Outbound calls and attended transfers both read their legs this way.

use crate::domain::events::TransferFailure;
use ari::events::DialStatus;

/// Why a dialled leg was not answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unanswered {
    /// The far end was busy.
    Busy,
    /// It rang out, was cancelled or rejected.
    NoAnswer,
    /// Anything else: congestion, no such extension, unavailable channel.
    Failed,
}

impl Unanswered {
    /// From the last meaningful `Dial` status (`None` when there was none)
    /// and the cause of the leg's `ChannelDestroyed`.
    pub fn from_dial(last_status: Option<&DialStatus>, cause: i32) -> Self {
        match (last_status, cause) {
            (Some(DialStatus::Busy), _) | (None, 17) => Self::Busy,
            (Some(DialStatus::NoAnswer | DialStatus::Cancel | DialStatus::Ringing), _)
            | (None, 19 | 21) => Self::NoAnswer,
            _ => Self::Failed,
        }
    }

    /// The label events and logs use.
    pub fn label(self) -> &'static str {
        match self {
            Self::Busy => "busy",
            Self::NoAnswer => "no_answer",
            Self::Failed => "failed",
        }
    }
}

impl From<Unanswered> for TransferFailure {
    fn from(u: Unanswered) -> Self {
        match u {
            Unanswered::Busy => Self::Busy,
            Unanswered::NoAnswer => Self::NoAnswer,
            Unanswered::Failed => Self::Failed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_status_decides_and_the_cause_only_without_one() {
        use DialStatus as D;
        let cases = [
            (Some(D::Busy), 0, Unanswered::Busy),
            (None, 17, Unanswered::Busy),
            (Some(D::Ringing), 0, Unanswered::NoAnswer),
            (Some(D::NoAnswer), 21, Unanswered::NoAnswer),
            (None, 19, Unanswered::NoAnswer),
            (None, 21, Unanswered::NoAnswer),
            (Some(D::Congestion), 34, Unanswered::Failed),
            (Some(D::Answer), 16, Unanswered::Failed),
            (None, 0, Unanswered::Failed),
        ];
        for (status, cause, want) in cases {
            assert_eq!(
                Unanswered::from_dial(status.as_ref(), cause),
                want,
                "{status:?} {cause}"
            );
        }
    }
}
