//! Requests for another instance (`[ha]` with `ha.advertise_url`): a control
//! request for a call this instance does not run goes to the instance its
//! Redis record names, and an originate this instance cannot place (it is
//! standby) goes to the holder of the Asterisk's lease, each at the API URL
//! that instance advertises in Redis.
//!
//! The request is sent again over HTTP with the caller's own
//! `Authorization`: the receiving instance checks the
//! token and the tenant again, so forwarding grants nothing the caller's
//! token does not. The owner is looked up under the caller's tenant, so
//! another tenant's call is a 404 here, never forwarded. A forwarded request
//! carries [`FORWARDED_BY`] and is never forwarded again.

use super::problem::ApiError;
use crate::{
    application::ports::{calls::ControlError, peers::Peers},
    domain::{CallId, TenantId},
};
use axum::{
    body::Bytes,
    http::{HeaderMap, HeaderName, StatusCode, header},
    response::{IntoResponse, Response},
};
use std::{sync::Arc, time::Duration};

/// Marks a forwarded request (its value: the forwarding instance).
pub(crate) const FORWARDED_BY: &str = "x-voicegw-forwarded-by";

/// The longest a forwarded request waits for the other instance.
const FORWARD_TIMEOUT: Duration = Duration::from_secs(10);

/// Headers that travel with a forwarded request. Not `Idempotency-Key`:
/// the forwarding instance holds the key (in the store the instances may
/// share, where the receiver would find it in progress) and records the
/// outcome under it itself.
const REQUEST_HEADERS: [&str; 1] = ["authorization"];

/// Headers of the other instance's answer that travel back.
const RESPONSE_HEADERS: [HeaderName; 4] = [
    header::CONTENT_TYPE,
    header::LOCATION,
    header::RETRY_AFTER,
    header::WWW_AUTHENTICATE,
];

/// Sends requests on to the instance that can answer them.
pub struct Forwarder {
    peers: Arc<dyn Peers>,
    me: String,
    client: reqwest::Client,
}

impl std::fmt::Debug for Forwarder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Forwarder")
            .field("me", &self.me)
            .finish_non_exhaustive()
    }
}

/// One request to send on: its path, the caller's headers and its body.
pub(crate) struct Relay<'a> {
    pub(crate) path: String,
    pub(crate) headers: &'a HeaderMap,
    pub(crate) body: Option<serde_json::Value>,
}

/// The other instance's answer, as it gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// Its status.
    pub status: StatusCode,
    headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        let mut res = (self.status, self.body).into_response();
        res.headers_mut().extend(self.headers);
        res
    }
}

impl Forwarder {
    /// Forwards as instance `me`, finding the others through `peers`.
    pub fn new(peers: Arc<dyn Peers>, me: String) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(FORWARD_TIMEOUT)
            .connect_timeout(Duration::from_secs(2))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self { peers, me, client })
    }

    /// A control request the local router refused with `local` (not its
    /// call, or not listening): to the call's owner, or `local` when the
    /// call is this instance's, has ended, or the request was forwarded here.
    pub(crate) async fn control(
        &self,
        tenant: &TenantId,
        call: &CallId,
        local: ControlError,
        relay: Relay<'_>,
    ) -> Result<Answer, ApiError> {
        if forwarded(relay.headers) {
            return Err(local.into());
        }
        let owner = match self.peers.owner(tenant, call).await {
            Ok(Some(o)) => o,
            Ok(None) => return Err(ApiError::NotFound("no such call".into())),
            Err(e) => return Err(ApiError::Unreachable(format!("the call's owner: {e}"))),
        };
        if owner.ended || owner.instance == self.me {
            return Err(local.into());
        }
        self.send(&owner.instance, relay).await
    }

    /// An originate the local router refused with `local` (standby): to the
    /// holder of the Asterisk's lease; `local` when none holds it or this
    /// instance does.
    pub(crate) async fn originate(
        &self,
        local: ControlError,
        relay: Relay<'_>,
    ) -> Result<Answer, ApiError> {
        if forwarded(relay.headers) {
            return Err(local.into());
        }
        match self.peers.active().await {
            Ok(Some(active)) if active != self.me => self.send(&active, relay).await,
            Ok(_) => Err(local.into()),
            Err(e) => Err(ApiError::Unreachable(format!("the active instance: {e}"))),
        }
    }

    async fn send(&self, instance: &str, relay: Relay<'_>) -> Result<Answer, ApiError> {
        let base = match self.peers.api_url(instance).await {
            Ok(Some(url)) => url,
            Ok(None) => {
                return Err(ApiError::Unreachable(format!(
                    "instance {instance} advertises no API URL (ha.advertise_url unset there, or it stopped)"
                )));
            }
            Err(e) => return Err(ApiError::Unreachable(format!("instance {instance}: {e}"))),
        };
        let url = format!("{}{}", base.trim_end_matches('/'), relay.path);
        let mut req = self.client.post(&url).header(FORWARDED_BY, &self.me);
        for name in REQUEST_HEADERS {
            if let Some(v) = relay.headers.get(name) {
                req = req.header(name, v.as_bytes());
            }
        }
        if let Some(body) = &relay.body {
            req = req.json(body);
        }
        tracing::debug!(%instance, %url, "forwarding a call API request");
        let unreachable = |e: reqwest::Error| {
            ApiError::Unreachable(format!("instance {instance} at {base}: {e}"))
        };
        let res = req.send().await.map_err(unreachable)?;
        let status = StatusCode::from_u16(res.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
        let mut headers = HeaderMap::new();
        for name in RESPONSE_HEADERS {
            if let Some(v) = res.headers().get(name.as_str())
                && let Ok(v) = axum::http::HeaderValue::from_bytes(v.as_bytes())
            {
                headers.insert(name, v);
            }
        }
        let body = res.bytes().await.map_err(unreachable)?;
        Ok(Answer {
            status,
            headers,
            body,
        })
    }
}

fn forwarded(headers: &HeaderMap) -> bool {
    headers.contains_key(FORWARDED_BY)
}
