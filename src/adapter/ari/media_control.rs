//! Playback and live-recording control.

use ari::{Playback, PlaybackId, RecordingName};

use super::call::Call;
use super::client::AriClient;
use super::error::AriError;
use super::spec;

impl AriClient {
    /// `GET /playbacks/{id}`.
    pub async fn get_playback(&self, playback: &PlaybackId) -> Result<Playback, AriError> {
        self.json(Call::new(&spec::PLAYBACKS_GET).path("playbackId", playback.as_str()))
            .await
    }

    /// `DELETE /playbacks/{id}`: stop (barge-in). The playback then finishes with
    /// state `done`, not `stopped`, and the next queued one starts. A playback that
    /// already finished is a 404, which a barge-in may treat as success.
    pub async fn stop_playback(&self, playback: &PlaybackId) -> Result<(), AriError> {
        self.empty(Call::new(&spec::PLAYBACKS_STOP).path("playbackId", playback.as_str()))
            .await
    }

    /// `POST /recordings/live/{name}/stop`: stop and keep the file.
    pub async fn stop_recording(&self, recording: &RecordingName) -> Result<(), AriError> {
        let call = Call::new(&spec::RECORDINGS_STOP).path("recordingName", recording.as_str());
        self.empty(call).await
    }
}
