//! Endpoints, device states and sounds.

use serde::{Deserialize, Serialize};

use crate::ChannelId;

string_enum! {
    /// `Endpoint.state`. chan_sip peers show `unknown` even while registered (fixture 13).
    pub enum EndpointState {
        /// Unknown.
        Unknown => "unknown",
        /// Offline.
        Offline => "offline",
        /// Online.
        Online => "online",
    }
}

/// An endpoint (`tech/resource`, e.g. `SIP/caller`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Endpoint {
    /// Technology (`SIP`, `PJSIP`, ...).
    pub technology: String,
    /// Resource name.
    pub resource: String,
    /// State, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<EndpointState>,
    /// Channels on this endpoint.
    #[serde(default)]
    pub channel_ids: Vec<ChannelId>,
}

/// A device's state (`DeviceStateChanged`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceState {
    /// Device name.
    pub name: String,
    /// State (`INUSE`, `NOT_INUSE`, `RINGING`, ...).
    pub state: String,
}

/// A sound file known to Asterisk (`GET /sounds/{id}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sound {
    /// Id, usable as `sound:<id>`.
    pub id: String,
    /// Text of the prompt, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Available format and language pairs.
    #[serde(default)]
    pub formats: Vec<FormatLangPair>,
}

/// One format/language a sound exists in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormatLangPair {
    /// Language.
    pub language: String,
    /// Format.
    pub format: String,
}
