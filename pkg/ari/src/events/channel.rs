//! Channel lifecycle events.

use serde::{Deserialize, Serialize};

use super::EventCommon;
use crate::{Channel, HangupCause};

/// A channel entered the Stasis app.
///
/// For a dialplan-entered call, `args` holds the comma-split `Stasis(app,a,b)`
/// arguments (the DID in this project) and the channel is in state `Ring`. An
/// originated channel arrives here only once answered, in state `Up` (fixture 03).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StasisStart {
    /// Common fields.
    #[serde(flatten)]
    pub common: EventCommon,
    /// Application arguments.
    #[serde(default)]
    pub args: Vec<String>,
    /// The channel.
    pub channel: Channel,
    /// The channel this one replaces (masquerade), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replace_channel: Option<Channel>,
}

/// A channel left the Stasis app.
///
/// A dialplan-entered channel sends nothing after this (no `ChannelDestroyed`): treat
/// `StasisEnd` as its end. An ARI-originated one goes on to `ChannelDestroyed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StasisEnd {
    /// Common fields.
    #[serde(flatten)]
    pub common: EventCommon,
    /// The channel.
    pub channel: Channel,
}

/// A channel was created (seen only with `subscribeAll`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelCreated {
    /// Common fields.
    #[serde(flatten)]
    pub common: EventCommon,
    /// The channel.
    pub channel: Channel,
}

/// A channel is gone. `cause` is the real Q.850 hangup cause.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelDestroyed {
    /// Common fields.
    #[serde(flatten)]
    pub common: EventCommon,
    /// Q.850 cause.
    pub cause: HangupCause,
    /// Text of the cause (`Normal Clearing`, ...).
    #[serde(default)]
    pub cause_txt: String,
    /// Technology-specific cause (chan_websocket sends the close code, 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tech_cause: Option<i32>,
    /// The channel.
    pub channel: Channel,
}

/// A hangup was requested on a channel.
///
/// `cause` is **not** a hangup cause when `soft` is true: it is the soft-hangup flag
/// (32 after an ARI `DELETE`, 4 on shutdown). A SIP BYE sends neither field. Use
/// [`ChannelHangupRequest::q850_cause`] rather than reading `cause` directly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelHangupRequest {
    /// Common fields.
    #[serde(flatten)]
    pub common: EventCommon,
    /// Cause, or the soft-hangup flag when `soft` is true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<i32>,
    /// Technology-specific cause.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tech_cause: Option<i32>,
    /// Whether this is a soft hangup request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soft: Option<bool>,
    /// The channel.
    pub channel: Channel,
}

impl ChannelHangupRequest {
    /// Whether this is a soft hangup (ARI DELETE, shutdown) rather than one from the
    /// far end.
    pub fn is_soft(&self) -> bool {
        self.soft == Some(true)
    }

    /// The Q.850 cause, if this request carries one: `None` for soft hangups (whose
    /// `cause` is a flag) and for hangups that sent no cause.
    pub fn q850_cause(&self) -> Option<HangupCause> {
        if self.is_soft() {
            None
        } else {
            self.cause.map(HangupCause)
        }
    }
}

/// A channel's state changed (`Ring` → `Up`, `Down` → `Ringing`, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelStateChange {
    /// Common fields.
    #[serde(flatten)]
    pub common: EventCommon,
    /// The channel, in its new state.
    pub channel: Channel,
}

/// A channel moved in the dialplan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelDialplan {
    /// Common fields.
    #[serde(flatten)]
    pub common: EventCommon,
    /// The channel.
    pub channel: Channel,
    /// Application now running.
    #[serde(default)]
    pub dialplan_app: String,
    /// Its arguments.
    #[serde(default)]
    pub dialplan_app_data: String,
}

/// A channel's caller id changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelCallerId {
    /// Common fields.
    #[serde(flatten)]
    pub common: EventCommon,
    /// Presentation code.
    pub caller_presentation: i32,
    /// Presentation text.
    #[serde(default)]
    pub caller_presentation_txt: String,
    /// The channel.
    pub channel: Channel,
}

/// A channel's connected line changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelConnectedLine {
    /// Common fields.
    #[serde(flatten)]
    pub common: EventCommon,
    /// The channel.
    pub channel: Channel,
}

/// A channel variable was set (by us, the dialplan or Asterisk itself:
/// `BRIDGEPEER`, `RTPAUDIOQOS*`, `STASISSTATUS`, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelVarset {
    /// Common fields.
    #[serde(flatten)]
    pub common: EventCommon,
    /// Variable name.
    pub variable: String,
    /// New value.
    #[serde(default)]
    pub value: String,
    /// The channel; absent for global variables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<Channel>,
}

/// A channel was put on hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelHold {
    /// Common fields.
    #[serde(flatten)]
    pub common: EventCommon,
    /// The channel.
    pub channel: Channel,
    /// Music class suggested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub musicclass: Option<String>,
}

/// A channel was taken off hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelUnhold {
    /// Common fields.
    #[serde(flatten)]
    pub common: EventCommon,
    /// The channel.
    pub channel: Channel,
}

/// A user event (`UserEvent()` in the dialplan or `POST /events/user`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelUserevent {
    /// Common fields.
    #[serde(flatten)]
    pub common: EventCommon,
    /// Event name.
    pub eventname: String,
    /// Channel, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<Channel>,
    /// Bridge, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bridge: Option<crate::Bridge>,
    /// Endpoint, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<crate::Endpoint>,
    /// User data, as sent.
    #[serde(default)]
    pub userevent: serde_json::Value,
}
