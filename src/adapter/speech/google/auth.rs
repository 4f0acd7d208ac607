//! Google credentials: an API key, or a service-account key file whose
//! signed JWT (RS256) is exchanged at its `token_uri` for an OAuth access
//! token (RFC 7523 `jwt-bearer` grant), cached and refreshed a minute before
//! it expires. Google documents the flow in "Using OAuth 2.0 for Server to
//! Server Applications" (preparing, signing and sending the JWT).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::config::GoogleCredentials;
use crate::adapter::speech::deepgram::ApiKey;
use crate::adapter::speech::deepgram::socket::excerpt;

/// The scope every Cloud API accepts.
const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
/// A token this close to expiry is renewed before use.
const REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// Why no credential could be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The key file is unreadable or not a service-account key.
    #[error("google credentials file: {0}")]
    File(String),
    /// The token endpoint could not be reached.
    #[error("google token endpoint unreachable: {0}")]
    Unreachable(String),
    /// The token endpoint refused the assertion (bad key, revoked account).
    #[error("google token endpoint refused: {0}")]
    Refused(String),
    /// Its answer was not a token.
    #[error("google token endpoint answered nonsense: {0}")]
    Malformed(String),
}

/// The fields of a service-account key file we use.
#[derive(Clone, Deserialize)]
pub struct ServiceAccountKey {
    pub(crate) client_email: String,
    pub(crate) private_key: String,
    #[serde(default)]
    pub(crate) private_key_id: Option<String>,
    pub(crate) token_uri: String,
    #[serde(default)]
    pub project_id: Option<String>,
}

impl std::fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccountKey")
            .field("client_email", &self.client_email)
            .field("token_uri", &self.token_uri)
            .finish_non_exhaustive()
    }
}

impl ServiceAccountKey {
    /// Reads and checks a key file (`"type": "service_account"`).
    pub fn load(path: &Path) -> Result<Self, AuthError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| AuthError::File(format!("{}: {e}", path.display())))?;
        Self::parse(&text).map_err(|e| AuthError::File(format!("{}: {e}", path.display())))
    }

    /// Parses a key file's JSON.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if v["type"] != "service_account" {
            return Err("not a service-account key (\"type\" is not \"service_account\")".into());
        }
        let key: Self = serde_json::from_value(v).map_err(|e| e.to_string())?;
        jsonwebtoken::EncodingKey::from_rsa_pem(key.private_key.as_bytes())
            .map_err(|e| format!("private_key is not an RSA key in PEM: {e}"))?;
        Ok(key)
    }

    /// The signed assertion, valid for an hour from `now` (Unix seconds).
    pub(crate) fn assertion(&self, now: u64) -> Result<String, AuthError> {
        let claims = serde_json::json!({
            "iss": self.client_email,
            "scope": SCOPE,
            "aud": self.token_uri,
            "iat": now,
            "exp": now + 3600,
        });
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        header.kid = self.private_key_id.clone();
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(self.private_key.as_bytes())
            .map_err(|e| AuthError::File(e.to_string()))?;
        jsonwebtoken::encode(&header, &claims, &key).map_err(|e| AuthError::File(e.to_string()))
    }
}

/// A token endpoint's answer: `{access_token, expires_in, token_type}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub(crate) access_token: String,
    pub(crate) expires_in: Duration,
}

/// Parses a token response body; `Err` for anything that is not a bearer token.
pub(crate) fn parse_token(body: &str) -> Result<Token, String> {
    let v: serde_json::Value = serde_json::from_str(body).map_err(|e| format!("not JSON: {e}"))?;
    let access_token = v["access_token"]
        .as_str()
        .filter(|t| !t.is_empty())
        .ok_or("no access_token")?;
    if let Some(kind) = v["token_type"].as_str()
        && !kind.eq_ignore_ascii_case("bearer")
    {
        return Err(format!("token_type {kind:?} is not Bearer"));
    }
    let secs = v["expires_in"].as_u64().ok_or("no expires_in")?;
    Ok(Token {
        access_token: access_token.to_owned(),
        expires_in: Duration::from_secs(secs.min(24 * 3600)),
    })
}

/// What a request carries: a header name and its value.
pub(crate) type AuthHeader = (&'static str, String);

/// The credentials of one configuration, shared by every session.
#[derive(Clone)]
pub(crate) struct Authenticator {
    inner: Arc<Inner>,
}

enum Inner {
    ApiKey(ApiKey),
    ServiceAccount {
        key: ServiceAccountKey,
        client: reqwest::Client,
        timeout: Duration,
        cached: Mutex<Option<(String, Instant)>>,
    },
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &*self.inner {
            Inner::ApiKey(_) => f.write_str("Authenticator(api key)"),
            Inner::ServiceAccount { key, .. } => write!(f, "Authenticator({})", key.client_email),
        }
    }
}

impl Authenticator {
    /// Reads a key file now, so a bad one fails at start, not mid-call.
    pub(crate) fn new(creds: &GoogleCredentials, timeout: Duration) -> Result<Self, AuthError> {
        let inner = match creds {
            GoogleCredentials::ApiKey(k) => Inner::ApiKey(k.clone()),
            GoogleCredentials::ServiceAccount(path) => Inner::ServiceAccount {
                key: ServiceAccountKey::load(path)?,
                client: reqwest::Client::builder()
                    .connect_timeout(timeout)
                    .build()
                    .map_err(|e| AuthError::Unreachable(e.to_string()))?,
                timeout,
                cached: Mutex::new(None),
            },
        };
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// The header for the next request: the API key, or a bearer token
    /// (fetched or renewed when missing or about to expire).
    pub(crate) async fn header(&self) -> Result<AuthHeader, AuthError> {
        match &*self.inner {
            Inner::ApiKey(k) => Ok(("x-goog-api-key", k.expose().to_owned())),
            Inner::ServiceAccount {
                key,
                client,
                timeout,
                cached,
            } => {
                // Held across the exchange: concurrent callers wait for one refresh.
                let mut cached = cached.lock().await;
                if let Some((token, until)) = &*cached
                    && Instant::now() + REFRESH_MARGIN < *until
                {
                    return Ok(("authorization", format!("Bearer {token}")));
                }
                let token = exchange(client, key, *timeout).await?;
                let until = Instant::now() + token.expires_in;
                let header = format!("Bearer {}", token.access_token);
                *cached = Some((token.access_token, until));
                Ok(("authorization", header))
            }
        }
    }
}

/// One `jwt-bearer` grant at the key's `token_uri`.
async fn exchange(
    client: &reqwest::Client,
    key: &ServiceAccountKey,
    timeout: Duration,
) -> Result<Token, AuthError> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let assertion = key.assertion(now)?;
    let form = [
        ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
        ("assertion", assertion.as_str()),
    ];
    let sent = client.post(&key.token_uri).form(&form).send();
    let response = tokio::time::timeout(timeout, sent)
        .await
        .map_err(|_| AuthError::Unreachable(format!("no answer in {timeout:?}")))?
        .map_err(|e| AuthError::Unreachable(e.without_url().to_string()))?;
    let status = response.status();
    let body = tokio::time::timeout(timeout, response.text())
        .await
        .map_err(|_| AuthError::Unreachable(format!("no body in {timeout:?}")))?
        .map_err(|e| AuthError::Unreachable(e.without_url().to_string()))?;
    if status.as_u16() == 429 || status.is_server_error() {
        return Err(AuthError::Unreachable(format!(
            "HTTP {}: {}",
            status.as_u16(),
            excerpt(&body)
        )));
    }
    if !status.is_success() {
        return Err(AuthError::Refused(format!(
            "HTTP {}: {}",
            status.as_u16(),
            excerpt(&body)
        )));
    }
    parse_token(&body).map_err(AuthError::Malformed)
}
