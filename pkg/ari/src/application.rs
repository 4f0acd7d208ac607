//! The `Application` resource (a Stasis app and its subscriptions).

use serde::{Deserialize, Serialize};

use crate::{BridgeId, ChannelId};

/// A Stasis application.
///
/// `GET /applications` lists only apps with a connected events socket; closing the
/// socket that took an app over unregisters it even if an older socket is still open
/// (fixture 10).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Application {
    /// Name.
    pub name: String,
    /// Channels the app is subscribed to.
    #[serde(default)]
    pub channel_ids: Vec<ChannelId>,
    /// Bridges the app is subscribed to.
    #[serde(default)]
    pub bridge_ids: Vec<BridgeId>,
    /// Endpoints the app is subscribed to (`tech/resource`).
    #[serde(default)]
    pub endpoint_ids: Vec<String>,
    /// Device states the app is subscribed to.
    #[serde(default)]
    pub device_names: Vec<String>,
    /// Event filter (allow list), as sent.
    #[serde(default)]
    pub events_allowed: Vec<serde_json::Value>,
    /// Event filter (deny list), as sent.
    #[serde(default)]
    pub events_disallowed: Vec<serde_json::Value>,
}
