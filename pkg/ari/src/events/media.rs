//! Media events: DTMF, talk detection, playbacks, recordings.

use serde::{Deserialize, Serialize};

use super::EventCommon;
use crate::{Channel, LiveRecording, Playback};

/// A DTMF digit was received. The only way to get digits for a call whose media goes
/// over externalMedia RTP: Asterisk forwards no RFC 4733 to the RTP peer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelDtmfReceived {
    /// Common fields.
    #[serde(flatten)]
    pub common: EventCommon,
    /// The digit (`0`-`9`, `*`, `#`, `A`-`D`).
    pub digit: String,
    /// Duration of the digit in ms.
    pub duration_ms: u32,
    /// The channel.
    pub channel: Channel,
}

/// `TALK_DETECT` saw talking start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelTalkingStarted {
    /// Common fields.
    #[serde(flatten)]
    pub common: EventCommon,
    /// The channel.
    pub channel: Channel,
}

/// `TALK_DETECT` saw talking stop. Never sent if the channel stops producing frames,
/// so nothing may wait for it without a timeout (fixture 07).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelTalkingFinished {
    /// Common fields.
    #[serde(flatten)]
    pub common: EventCommon,
    /// The channel.
    pub channel: Channel,
    /// Length of the talking, in ms.
    pub duration: u64,
}

/// A playback started, or resumed after a pause, or moved to the next list item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlaybackStarted {
    /// Common fields.
    #[serde(flatten)]
    pub common: EventCommon,
    /// The playback.
    pub playback: Playback,
}

/// A media list playback moved on to its next item (a `PlaybackStarted` follows).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlaybackContinuing {
    /// Common fields.
    #[serde(flatten)]
    pub common: EventCommon,
    /// The playback.
    pub playback: Playback,
}

/// A playback ended: `done` (finished or stopped) or `failed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlaybackFinished {
    /// Common fields.
    #[serde(flatten)]
    pub common: EventCommon,
    /// The playback.
    pub playback: Playback,
}

/// A recording started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordingStarted {
    /// Common fields.
    #[serde(flatten)]
    pub common: EventCommon,
    /// The recording.
    pub recording: LiveRecording,
}

/// A recording finished.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordingFinished {
    /// Common fields.
    #[serde(flatten)]
    pub common: EventCommon,
    /// The recording.
    pub recording: LiveRecording,
}

/// A recording failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordingFailed {
    /// Common fields.
    #[serde(flatten)]
    pub common: EventCommon,
    /// The recording.
    pub recording: LiveRecording,
}
