//! The `Channel` resource and the small records it carries.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ChannelId;

string_enum! {
    /// `Channel.state`. `Unknown` is a real Asterisk state; values this crate has never
    /// seen land in `Other`.
    pub enum ChannelState {
        /// Channel is down and available.
        Down => "Down",
        /// Channel is down, but reserved.
        Rsrved => "Rsrved",
        /// Channel is off hook.
        OffHook => "OffHook",
        /// Digits (or equivalent) have been dialed.
        Dialing => "Dialing",
        /// Line is ringing: an inbound call not answered yet (dialplan-entered calls
        /// reach `StasisStart` in this state).
        Ring => "Ring",
        /// Remote end is ringing: an outbound call we originated.
        Ringing => "Ringing",
        /// Line is up (answered).
        Up => "Up",
        /// Line is busy.
        Busy => "Busy",
        /// Digits (or equivalent) have been dialed while offhook.
        DialingOffhook => "Dialing Offhook",
        /// Channel has detected an incoming call and is waiting for ring.
        PreRing => "Pre-ring",
        /// Asterisk itself does not know.
        Unknown => "Unknown",
    }
}

/// Caller or connected-line identification.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CallerId {
    /// Display name; empty when none.
    #[serde(default)]
    pub name: String,
    /// Number as Asterisk has it (not validated: may be a SIP user like `caller`).
    #[serde(default)]
    pub number: String,
}

/// A channel's position in the dialplan (context, extension, priority).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DialplanCep {
    /// Context.
    pub context: String,
    /// Extension: for an inbound call entering `Stasis(app,${EXTEN})`, the DID.
    pub exten: String,
    /// Priority.
    pub priority: i64,
    /// Name of the current dialplan application (`Stasis`, `AppDial2`, ...).
    #[serde(default)]
    pub app_name: String,
    /// Arguments of the current dialplan application.
    #[serde(default)]
    pub app_data: String,
}

/// An ARI channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Channel {
    /// Unique id.
    pub id: ChannelId,
    /// Name, e.g. `SIP/caller-00000001`, `UnicastRTP/127.0.0.1:40010-0x...`.
    pub name: String,
    /// State.
    pub state: ChannelState,
    /// Protocol id (the SIP Call-ID for SIP channels; empty for Local/UnicastRTP).
    #[serde(default)]
    pub protocol_id: String,
    /// Caller id.
    #[serde(default)]
    pub caller: CallerId,
    /// Connected line.
    #[serde(default)]
    pub connected: CallerId,
    /// Account code.
    #[serde(default)]
    pub accountcode: String,
    /// Current dialplan location.
    #[serde(default)]
    pub dialplan: DialplanCep,
    /// Creation time, as Asterisk prints it (`2026-11-21T06:03:28.134+0000`).
    pub creationtime: String,
    /// Default language.
    #[serde(default)]
    pub language: String,
    /// Channel variables Asterisk chose to include: externalMedia responses carry
    /// `UNICASTRTP_LOCAL_ADDRESS`/`_PORT`, `AUDIOSOCKET_UUID` or
    /// `MEDIA_WEBSOCKET_CONNECTION_ID` here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channelvars: Option<BTreeMap<String, String>>,
    /// Redirecting number, when any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_rdnis: Option<String>,
    /// Tenant id, when the channel has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenantid: Option<String>,
}

impl Channel {
    /// A channel variable Asterisk included in `channelvars`.
    pub fn channelvar(&self, name: &str) -> Option<&str> {
        self.channelvars.as_ref()?.get(name).map(String::as_str)
    }
}

/// RTP statistics of a channel (`GET /channels/{id}/rtp_statistics`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)] // field names are Asterisk's own and self-describing
pub struct RtpStat {
    pub txcount: u64,
    pub rxcount: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub txjitter: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rxjitter: Option<f64>,
    pub txploss: u64,
    pub rxploss: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtt: Option<f64>,
    pub local_ssrc: u32,
    pub remote_ssrc: u32,
    pub txoctetcount: u64,
    pub rxoctetcount: u64,
    pub channel_uniqueid: String,
    /// The remaining min/max/deviation figures, kept as sent.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}
