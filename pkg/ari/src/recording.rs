//! Live and stored recordings.

use serde::{Deserialize, Serialize};

use crate::RecordingName;

string_enum! {
    /// `LiveRecording.state`.
    pub enum RecordingState {
        /// Waiting to start.
        Queued => "queued",
        /// Recording.
        Recording => "recording",
        /// Paused.
        Paused => "paused",
        /// Finished.
        Done => "done",
        /// Failed (see `cause`).
        Failed => "failed",
        /// Cancelled (file discarded).
        Canceled => "canceled",
    }
}

/// A recording in progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveRecording {
    /// Name (the recording's address).
    pub name: RecordingName,
    /// File format (`wav`, `gsm`, ...).
    pub format: String,
    /// `channel:<id>` or `bridge:<id>`.
    pub target_uri: String,
    /// State.
    pub state: RecordingState,
    /// Duration in seconds, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<i64>,
    /// Seconds of talking, when silence detection ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub talking_duration: Option<i64>,
    /// Seconds of silence, when silence detection ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub silence_duration: Option<i64>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

/// A finished recording on disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRecording {
    /// Name.
    pub name: RecordingName,
    /// File format.
    pub format: String,
}
