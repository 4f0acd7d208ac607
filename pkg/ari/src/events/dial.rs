//! The `Dial` event: the only place an originate's outcome shows (the POST answers
//! 200 even for busy, no answer and congestion).

use serde::{Deserialize, Serialize};

use super::EventCommon;
use crate::Channel;

string_enum! {
    /// `Dial.dialstatus`, as `${DIALSTATUS}` spells it.
    pub enum DialStatus {
        /// Empty: the dial has just started, no outcome yet.
        Started => "",
        /// The far end is ringing.
        Ringing => "RINGING",
        /// Progress indication.
        Progress => "PROGRESS",
        /// Answered.
        Answer => "ANSWER",
        /// Busy.
        Busy => "BUSY",
        /// Not answered (timeout, or `Hangup(21)` on a Local far end).
        NoAnswer => "NOANSWER",
        /// Cancelled by the caller side.
        Cancel => "CANCEL",
        /// Congestion.
        Congestion => "CONGESTION",
        /// Channel unavailable.
        ChanUnavail => "CHANUNAVAIL",
        /// Privacy manager refused.
        DontCall => "DONTCALL",
        /// Privacy manager torture.
        Torture => "TORTURE",
        /// Bad dial arguments.
        InvalidArgs => "INVALIDARGS",
    }
}

impl DialStatus {
    /// Whether this status ends the dial attempt without an answer.
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            Self::Busy
                | Self::NoAnswer
                | Self::Cancel
                | Self::Congestion
                | Self::ChanUnavail
                | Self::DontCall
                | Self::Torture
                | Self::InvalidArgs
        )
    }
}

/// Dialing state changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dial {
    /// Common fields.
    #[serde(flatten)]
    pub common: EventCommon,
    /// The calling channel, when there is one (absent for ARI originates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller: Option<Channel>,
    /// The dialed channel.
    pub peer: Channel,
    /// Forwarding target, if the call was forwarded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forward: Option<String>,
    /// The channel the call was forwarded to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forwarded: Option<Channel>,
    /// Dial string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dialstring: Option<String>,
    /// Status.
    pub dialstatus: DialStatus,
}
