//! Bridge events.

use serde::{Deserialize, Serialize};

use super::EventCommon;
use crate::{Bridge, Channel};

/// A bridge was created. Not sent for bridges created over REST (fixture 01).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BridgeCreated {
    /// Common fields.
    #[serde(flatten)]
    pub common: EventCommon,
    /// The bridge.
    pub bridge: Bridge,
}

/// A bridge was destroyed. REST bridges are never destroyed automatically: only
/// `DELETE /bridges/{id}` does it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BridgeDestroyed {
    /// Common fields.
    #[serde(flatten)]
    pub common: EventCommon,
    /// The bridge.
    pub bridge: Bridge,
}

/// Two bridges were merged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BridgeMerged {
    /// Common fields.
    #[serde(flatten)]
    pub common: EventCommon,
    /// The bridge that remains.
    pub bridge: Bridge,
    /// The bridge merged into it.
    pub bridge_from: Bridge,
}

/// A channel entered a bridge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelEnteredBridge {
    /// Common fields.
    #[serde(flatten)]
    pub common: EventCommon,
    /// The bridge, with its new member list and technology.
    pub bridge: Bridge,
    /// The channel (optional in the Swagger model).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<Channel>,
}

/// A channel left a bridge (also when it is moved to another bridge).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelLeftBridge {
    /// Common fields.
    #[serde(flatten)]
    pub common: EventCommon,
    /// The bridge, with its new member list and technology.
    pub bridge: Bridge,
    /// The channel.
    pub channel: Channel,
}
