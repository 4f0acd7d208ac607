//! The `Playback` resource.

use serde::{Deserialize, Serialize};

use crate::{BridgeId, ChannelId, PlaybackId};

string_enum! {
    /// `Playback.state`.
    ///
    /// A playback stopped with `DELETE /playbacks/{id}` ends `done`: there is no
    /// `stopped` (fixture 06).
    pub enum PlaybackState {
        /// Waiting behind another playback.
        Queued => "queued",
        /// Playing.
        Playing => "playing",
        /// Moving to the next item of a media list.
        Continuing => "continuing",
        /// Paused (seen in `GET`, not in the Swagger list; pausing sends no event).
        Paused => "paused",
        /// Finished, or stopped.
        Done => "done",
        /// Failed (unknown sound, target hung up, ...).
        Failed => "failed",
    }
}

/// An ARI playback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Playback {
    /// Id.
    pub id: PlaybackId,
    /// Media being played.
    pub media_uri: String,
    /// Next item of a media list, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_media_uri: Option<String>,
    /// `channel:<id>` or `bridge:<id>`.
    pub target_uri: String,
    /// Language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// State.
    pub state: PlaybackState,
}

/// What a playback plays to, parsed from `target_uri`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlaybackTarget {
    /// `channel:<id>`.
    Channel(ChannelId),
    /// `bridge:<id>`.
    Bridge(BridgeId),
    /// Anything else (kept verbatim).
    Other(String),
}

impl Playback {
    /// The playback's target, so events can be routed to the call that owns it.
    pub fn target(&self) -> PlaybackTarget {
        if let Some(id) = self.target_uri.strip_prefix("channel:") {
            PlaybackTarget::Channel(ChannelId::new(id))
        } else if let Some(id) = self.target_uri.strip_prefix("bridge:") {
            PlaybackTarget::Bridge(BridgeId::new(id))
        } else {
            PlaybackTarget::Other(self.target_uri.clone())
        }
    }
}
