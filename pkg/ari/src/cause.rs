//! Q.850 hangup causes as Asterisk reports them.

use serde::{Deserialize, Serialize};

/// A Q.850 cause code, as in `ChannelDestroyed.cause`.
///
/// Only `ChannelDestroyed` carries a real cause. `ChannelHangupRequest.cause` with
/// `soft: true` is Asterisk's soft-hangup flag (32 = explicit, 4 = shutdown), not a
/// cause (fixtures 01, 10). For the `;1` half of a Local channel the cause is often 0
/// even when the far end was busy: look at `Dial.dialstatus` too (fixture 04).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct HangupCause(pub i32);

impl HangupCause {
    /// 0: no cause recorded.
    pub const UNKNOWN: Self = Self(0);
    /// 1: unallocated number.
    pub const UNALLOCATED: Self = Self(1);
    /// 16: normal clearing.
    pub const NORMAL_CLEARING: Self = Self(16);
    /// 17: user busy.
    pub const USER_BUSY: Self = Self(17);
    /// 18: no user responding.
    pub const NO_USER_RESPONSE: Self = Self(18);
    /// 19: user alerting, no answer (originate `timeout` expired).
    pub const NO_ANSWER: Self = Self(19);
    /// 21: call rejected.
    pub const CALL_REJECTED: Self = Self(21);
    /// 27: destination out of order.
    pub const DESTINATION_OUT_OF_ORDER: Self = Self(27);
    /// 28: invalid number format.
    pub const INVALID_NUMBER_FORMAT: Self = Self(28);
    /// 34: circuit/channel congestion.
    pub const CONGESTION: Self = Self(34);
    /// 38: network out of order.
    pub const NETWORK_OUT_OF_ORDER: Self = Self(38);
    /// 41: temporary failure.
    pub const TEMPORARY_FAILURE: Self = Self(41);
}

impl std::fmt::Display for HangupCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}
