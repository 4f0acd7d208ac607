//! The `Bridge` resource.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{BridgeId, ChannelId};

string_enum! {
    /// `Bridge.bridge_type`.
    pub enum BridgeType {
        /// Audio mixing (the gateway's call bridges).
        Mixing => "mixing",
        /// Holding bridge.
        Holding => "holding",
    }
}

/// An ARI bridge.
///
/// `technology` changes as members come and go: `simple_bridge` with two members,
/// `softmix` with three or more (fixture 08). It matters for media: in a
/// `simple_bridge` Asterisk sends externalMedia RTP only while the other side makes
/// sound.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bridge {
    /// Id.
    pub id: BridgeId,
    /// Current bridging technology (`simple_bridge`, `softmix`, ...).
    pub technology: String,
    /// Type.
    pub bridge_type: BridgeType,
    /// Class (`stasis` for REST-created bridges).
    #[serde(default)]
    pub bridge_class: String,
    /// Creator (`Stasis`).
    #[serde(default)]
    pub creator: String,
    /// Name given at creation.
    #[serde(default)]
    pub name: String,
    /// Member channels.
    #[serde(default)]
    pub channels: Vec<ChannelId>,
    /// Video mode (`talker`, `sfu`, `none`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_mode: Option<String>,
    /// Video source, when one was set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_source_id: Option<String>,
    /// Creation time, as Asterisk prints it.
    pub creationtime: String,
    /// Bridge variables, when any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bridgevars: Option<BTreeMap<String, String>>,
}
