//! Applications and Asterisk itself: what a reconnect and readiness need.

use ari::{Application, AsteriskInfo, AsteriskPing};

use super::call::Call;
use super::client::AriClient;
use super::error::AriError;
use super::spec;

impl AriClient {
    /// `GET /applications`: only apps with a connected events socket are listed.
    pub async fn list_applications(&self) -> Result<Vec<Application>, AriError> {
        self.json(Call::new(&spec::APPLICATIONS_LIST)).await
    }

    /// `GET /applications/{name}`: this app's subscriptions (404 when no socket holds it).
    pub async fn get_application(&self, name: &str) -> Result<Application, AriError> {
        self.json(Call::new(&spec::APPLICATIONS_GET).path("applicationName", name))
            .await
    }

    /// `POST /applications/{name}/subscription`: subscribe this client's app to an
    /// event source (`channel:<id>`, `bridge:<id>`, `endpoint:<tech>/<res>`,
    /// `deviceState:<name>`).
    pub async fn subscribe(&self, event_source: &str) -> Result<Application, AriError> {
        let call = Call::new(&spec::APPLICATIONS_SUBSCRIBE)
            .path("applicationName", self.app())
            .query("eventSource", event_source);
        self.json(call).await
    }

    /// `GET /asterisk/info`. `status.startup_time` changes when Asterisk restarted.
    pub async fn asterisk_info(&self) -> Result<AsteriskInfo, AriError> {
        self.json(Call::new(&spec::ASTERISK_INFO)).await
    }

    /// `GET /asterisk/ping`: liveness (503 while Asterisk boots; retried).
    pub async fn ping(&self) -> Result<AsteriskPing, AriError> {
        self.json(Call::new(&spec::ASTERISK_PING)).await
    }
}
