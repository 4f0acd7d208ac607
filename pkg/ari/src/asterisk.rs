//! `/asterisk` resources (info, ping) and variables.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `GET /asterisk/ping`: the cheapest liveness probe (during boot Asterisk answers 503
/// `Asterisk not booted` instead).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AsteriskPing {
    /// The Asterisk's entity id (its MAC-like identity).
    pub asterisk_id: String,
    /// Always `pong`.
    pub ping: String,
    /// Server time, as Asterisk prints it.
    pub timestamp: String,
}

/// `GET /asterisk/info`. Every section is optional because `?only=` selects them.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AsteriskInfo {
    /// Build information.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<BuildInfo>,
    /// Version and entity id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<SystemInfo>,
    /// Configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<ConfigInfo>,
    /// Start and reload times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<StatusInfo>,
}

/// Build section of [`AsteriskInfo`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs)] // Asterisk's own field names
pub struct BuildInfo {
    pub os: String,
    pub kernel: String,
    pub options: String,
    pub machine: String,
    pub date: String,
    pub user: String,
}

/// System section of [`AsteriskInfo`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SystemInfo {
    /// Asterisk version, e.g. `20.20.1`.
    pub version: String,
    /// Entity id (also `asterisk_id` in events).
    pub entity_id: String,
}

/// Config section of [`AsteriskInfo`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[allow(missing_docs)] // Asterisk's own field names
pub struct ConfigInfo {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub default_language: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_channels: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_open_files: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_load: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setid: Option<SetId>,
}

/// Effective user and group of the Asterisk process.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs)] // Asterisk's own field names
pub struct SetId {
    pub user: String,
    pub group: String,
}

/// Status section of [`AsteriskInfo`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct StatusInfo {
    /// When Asterisk started: a change means it restarted and every channel is gone.
    pub startup_time: String,
    /// Last reload.
    pub last_reload_time: String,
}

/// One variable's value (`GET .../variable`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variable {
    /// The value.
    pub value: String,
}

/// Several variables (`GET .../variables`, and the originate body `{"variables":{..}}`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Variables {
    /// Name to value.
    pub variables: BTreeMap<String, String>,
}
