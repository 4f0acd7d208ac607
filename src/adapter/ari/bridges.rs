//! Bridge operations. The gateway only creates `mixing` bridges.
//!
//! Bridges created over REST get no `BridgeCreated` event and are never destroyed by
//! Asterisk: a call's cleanup must `destroy_bridge` explicitly.

use ari::{Bridge, BridgeId, ChannelId, LiveRecording, Playback, PlaybackId};

use super::call::Call;
use super::channels::{Record, media_list, record_call};
use super::client::AriClient;
use super::error::AriError;
use super::spec;

impl AriClient {
    /// `POST /bridges?type=mixing`. Choosing `bridge_id` lets events that race the
    /// answer be matched; a duplicate id is a 409.
    pub async fn create_bridge(
        &self,
        bridge_id: Option<&BridgeId>,
        name: Option<&str>,
    ) -> Result<Bridge, AriError> {
        let call = Call::new(&spec::BRIDGES_CREATE)
            .query("type", "mixing")
            .query_opt("bridgeId", bridge_id)
            .query_opt("name", name);
        self.json(call).await
    }

    /// `GET /bridges`.
    pub async fn list_bridges(&self) -> Result<Vec<Bridge>, AriError> {
        self.json(Call::new(&spec::BRIDGES_LIST)).await
    }

    /// `GET /bridges/{id}`.
    pub async fn get_bridge(&self, bridge: &BridgeId) -> Result<Bridge, AriError> {
        self.json(Call::new(&spec::BRIDGES_GET).path("bridgeId", bridge.as_str()))
            .await
    }

    /// `DELETE /bridges/{id}`. Members stay up and leave the bridge.
    pub async fn destroy_bridge(&self, bridge: &BridgeId) -> Result<(), AriError> {
        self.empty(Call::new(&spec::BRIDGES_DESTROY).path("bridgeId", bridge.as_str()))
            .await
    }

    /// `POST /bridges/{id}/addChannel`. A channel already in another bridge is moved.
    /// An unknown channel is a 400, one not in Stasis a 422.
    pub async fn add_channel(
        &self,
        bridge: &BridgeId,
        channel: &ChannelId,
    ) -> Result<(), AriError> {
        let call = Call::new(&spec::BRIDGES_ADD_CHANNEL)
            .path("bridgeId", bridge.as_str())
            .query("channel", channel);
        self.empty(call).await
    }

    /// `POST /bridges/{id}/removeChannel`.
    pub async fn remove_channel(
        &self,
        bridge: &BridgeId,
        channel: &ChannelId,
    ) -> Result<(), AriError> {
        let call = Call::new(&spec::BRIDGES_REMOVE_CHANNEL)
            .path("bridgeId", bridge.as_str())
            .query("channel", channel);
        self.empty(call).await
    }

    /// `POST /bridges/{id}/play`: media heard by every member.
    pub async fn play_on_bridge(
        &self,
        bridge: &BridgeId,
        media: &[&str],
        playback_id: Option<&PlaybackId>,
    ) -> Result<Playback, AriError> {
        let call = Call::new(&spec::BRIDGES_PLAY)
            .path("bridgeId", bridge.as_str())
            .query("media", media_list(spec::BRIDGES_PLAY.name, media)?)
            .query_opt("playbackId", playback_id);
        self.json(call).await
    }

    /// `POST /bridges/{id}/record`: records the bridge's mix.
    pub async fn record_bridge(
        &self,
        bridge: &BridgeId,
        record: &Record,
    ) -> Result<LiveRecording, AriError> {
        let call = Call::new(&spec::BRIDGES_RECORD).path("bridgeId", bridge.as_str());
        self.json(record_call(call, record)).await
    }
}
