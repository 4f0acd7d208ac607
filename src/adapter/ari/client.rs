//! The client core: one `reqwest` client, credentials, timeouts and read retries.
//! The operations live in one file per resource group (`channels.rs`, ...).

use std::time::Instant;

use reqwest::Url;
use serde::de::DeserializeOwned;

use super::call::Call;
use super::config::{AriClientConfig, RetryPolicy};
use super::error::AriError;
use super::spec::HttpMethod;

/// Longest piece of a non-JSON error body kept in an error (Asterisk answers some
/// failures with HTML).
const MAX_RAW_ERROR_TEXT: usize = 200;

/// REST client for one Asterisk's ARI. Cheap to clone (the connection pool is
/// shared).
#[derive(Debug, Clone)]
pub struct AriClient {
    http: reqwest::Client,
    base: Url,
    config: AriClientConfig,
    retry: RetryPolicy,
}

/// Idle keep-alive connections kept toward Asterisk.
pub const IDLE_CONNECTIONS: usize = 8;

impl AriClient {
    /// Builds a client. Fails on an unusable base URL.
    pub fn new(config: AriClientConfig) -> Result<Self, AriError> {
        let base = Url::parse(&config.base_url)
            .map_err(|e| AriError::Config(format!("base_url `{}`: {e}", config.base_url)))?;
        if base.cannot_be_a_base() || !matches!(base.scheme(), "http" | "https") {
            return Err(AriError::Config(format!(
                "base_url `{}` is not an http(s) URL",
                base
            )));
        }
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(config.request_timeout)
            // A burst of call setups opens many connections; keep only a few
            // idle afterwards, so Asterisk is not left holding dozens of them.
            .pool_max_idle_per_host(IDLE_CONNECTIONS)
            .pool_idle_timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(|e| AriError::Config(e.to_string()))?;
        Ok(Self {
            http,
            base,
            config,
            retry: RetryPolicy::default(),
        })
    }

    /// Replaces the retry policy of reads.
    pub fn with_retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = RetryPolicy {
            max_attempts: retry.max_attempts.max(1),
            ..retry
        };
        self
    }

    /// `ws(s)://host:port/media/<connection_id>`: chan_websocket's media
    /// socket on the same HTTP server as ARI (`connection_type=server`).
    pub fn media_websocket_url(&self, connection_id: &str) -> Result<Url, AriError> {
        let mut url = self.base.clone();
        let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
        url.set_scheme(scheme)
            .map_err(|()| AriError::Config(format!("no WebSocket scheme for {}", self.base)))?;
        url.set_path(&format!("/media/{connection_id}"));
        url.set_query(None);
        Ok(url)
    }

    /// The Stasis app this client sends channels to.
    pub fn app(&self) -> &str {
        &self.config.app
    }

    /// Sends a request whose success has a JSON body.
    pub(crate) async fn json<T: DeserializeOwned>(&self, call: Call) -> Result<T, AriError> {
        let operation = call.spec.name;
        let body = self.execute(call).await?;
        let mut de = serde_json::Deserializer::from_slice(&body);
        serde_path_to_error::deserialize(&mut de).map_err(|e| AriError::Decode {
            operation,
            path: e.path().to_string(),
            message: e.inner().to_string(),
        })
    }

    /// Sends a request whose success has no body we need (204, or a body we ignore).
    pub(crate) async fn empty(&self, call: Call) -> Result<(), AriError> {
        self.execute(call).await.map(drop)
    }

    /// Sends with retries for reads only, returning the body of a 2xx.
    async fn execute(&self, call: Call) -> Result<Vec<u8>, AriError> {
        let url = call.url(&self.base)?;
        let attempts = if call.spec.method.is_idempotent_read() {
            self.retry.max_attempts
        } else {
            1
        };
        let mut attempt = 1;
        loop {
            match self.send_once(&call, url.clone()).await {
                Err(e) if attempt < attempts && e.is_transient() => {
                    let wait = self.retry.backoff(attempt);
                    tracing::debug!(operation = call.spec.name, attempt, ?wait, error = %e, "retrying ARI read");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                result => return result,
            }
        }
    }

    async fn send_once(&self, call: &Call, url: Url) -> Result<Vec<u8>, AriError> {
        let operation = call.spec.name;
        let method = match call.spec.method {
            HttpMethod::Get => reqwest::Method::GET,
            HttpMethod::Post => reqwest::Method::POST,
            HttpMethod::Delete => reqwest::Method::DELETE,
        };
        let mut request = self
            .http
            .request(method, url)
            .basic_auth(&self.config.username, Some(&self.config.password))
            .timeout(self.config.request_timeout);
        if let Some(body) = call.json_body() {
            request = request.json(body);
        }
        let started = Instant::now();
        let transport = |source: reqwest::Error| {
            if source.is_timeout() {
                AriError::Timeout { operation }
            } else {
                AriError::Transport { operation, source }
            }
        };
        let response = crate::adapter::telemetry::propagate::send("ari", operation, request)
            .await
            .map_err(transport)?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(transport)?;
        tracing::debug!(
            operation,
            status,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "ARI request"
        );
        if (200..300).contains(&status) {
            return Ok(body.to_vec());
        }
        Err(AriError::from_status(operation, status, error_text(&body)))
    }
}

/// The text of an error body: `message`, else `error` (originate allocation
/// failures), else the raw text, shortened.
fn error_text(body: &[u8]) -> String {
    if let Ok(parsed) = serde_json::from_slice::<ari::ErrorBody>(body)
        && let Some(text) = parsed.text()
    {
        return text.to_owned();
    }
    let raw = String::from_utf8_lossy(body);
    let raw = raw.trim();
    match raw.char_indices().nth(MAX_RAW_ERROR_TEXT) {
        Some((cut, _)) => format!("{}…", &raw[..cut]),
        None => raw.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_text_prefers_message_then_error_then_raw() {
        assert_eq!(
            error_text(br#"{"message":"Channel not found"}"#),
            "Channel not found"
        );
        assert_eq!(
            error_text(br#"{"error":"Allocation failed"}"#),
            "Allocation failed"
        );
        assert_eq!(
            error_text(b"<html>missing param</html>\n"),
            "<html>missing param</html>"
        );
        assert_eq!(error_text(b""), "");
        let long = "x".repeat(500);
        assert_eq!(
            error_text(long.as_bytes()).chars().count(),
            MAX_RAW_ERROR_TEXT + 1
        );
    }

    #[test]
    fn bad_base_urls_are_config_errors() {
        for base in ["not a url", "mailto:x@y", "ftp://h/ari"] {
            let config = AriClientConfig {
                base_url: base.into(),
                username: "u".into(),
                password: "p".into(),
                app: "a".into(),
                request_timeout: std::time::Duration::from_secs(1),
            };
            assert!(
                matches!(AriClient::new(config), Err(AriError::Config(_))),
                "{base}"
            );
        }
    }
}
