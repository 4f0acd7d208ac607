//! One configuration for Transcribe streaming and Polly (`[speech.aws]`).

use std::time::Duration;

use super::provider::SharedCredentials;
use super::sigv4::Signer;

/// How to reach AWS and what to ask of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsConfig {
    /// Signing keys, shared and refreshed (see [`super::credentials`] for
    /// the chain).
    pub credentials: SharedCredentials,
    /// `us-east-1`.
    pub region: String,
    /// Transcribe streaming's base URL; `None`:
    /// `https://transcribestreaming.{region}.amazonaws.com`. `http://` speaks
    /// HTTP/2 without TLS (prior knowledge), for the loopback fakes.
    pub transcribe_endpoint: Option<String>,
    /// Polly's base URL; `None`: `https://polly.{region}.amazonaws.com`.
    pub polly_endpoint: Option<String>,
    /// Overrides the session's language for recognition (`en-US`).
    pub language: Option<String>,
    /// Polly voice when the session names none (`Joanna`).
    pub voice: String,
    /// Polly engine: `standard`, `neural`, `long-form` or `generative`.
    pub engine: String,
    /// Polly PCM rate when the session asks for its native format (8000 or 16000).
    pub sample_rate: u32,
    /// Bound on connecting (TCP, TLS and the HTTP/2 handshake).
    pub connect_timeout: Duration,
    /// Longest wait for a response head or the next body chunk (Polly),
    /// and for the response head (Transcribe).
    pub read_timeout: Duration,
    /// How long after `finish()` to wait for the pending partial result to
    /// settle before answering with what was heard so far.
    pub finalize_timeout: Duration,
    /// After this long without audio (Asterisk sends none in silence), 100 ms
    /// of silence goes: Transcribe ends a stream after 15 s without audio.
    pub keepalive: Duration,
    /// A PEM CA trusted for Transcribe's TLS instead of the system's roots
    /// (the TLS tests; not a configuration key).
    pub ca_file: Option<std::path::PathBuf>,
}

impl AwsConfig {
    /// Defaults for these credentials and region.
    pub fn new(credentials: impl Into<SharedCredentials>, region: impl Into<String>) -> Self {
        Self {
            credentials: credentials.into(),
            region: region.into(),
            transcribe_endpoint: None,
            polly_endpoint: None,
            language: None,
            voice: "Joanna".into(),
            engine: "neural".into(),
            sample_rate: 16_000,
            connect_timeout: Duration::from_secs(3),
            read_timeout: Duration::from_secs(10),
            finalize_timeout: Duration::from_millis(1500),
            keepalive: Duration::from_secs(5),
            ca_file: None,
        }
    }

    pub(super) fn transcribe_url(&self) -> String {
        self.transcribe_endpoint.clone().map_or_else(
            || format!("https://transcribestreaming.{}.amazonaws.com", self.region),
            |e| e.trim_end_matches('/').to_owned(),
        )
    }

    pub(super) fn polly_url(&self) -> String {
        self.polly_endpoint.clone().map_or_else(
            || format!("https://polly.{}.amazonaws.com", self.region),
            |e| e.trim_end_matches('/').to_owned(),
        )
    }

    /// A signer with the current credentials, refreshed first if they
    /// expire soon (the instance role's); awaited where a stream opens.
    pub(super) async fn fresh_signer(&self, service: &str) -> Result<Signer, String> {
        let credentials = self.credentials.fresh(std::time::SystemTime::now()).await?;
        Ok(self.signer_with(service, credentials))
    }

    /// A signer with the credentials as they stand (after a
    /// [`Self::fresh_signer`] made sure there are some).
    pub(super) fn signer(&self, service: &str) -> Result<Signer, String> {
        let credentials = self
            .credentials
            .current()
            .ok_or("speech.aws: no credentials fetched yet")?;
        Ok(self.signer_with(service, credentials))
    }

    fn signer_with(&self, service: &str, credentials: super::Credentials) -> Signer {
        Signer {
            credentials,
            region: self.region.clone(),
            service: service.into(),
        }
    }
}

/// An AWS error response: `x-amzn-ErrorType` (`ThrottlingException:http://…`)
/// and the JSON body's `message`/`Message`, as one line.
pub(super) fn error_text(status: u16, error_type: Option<&str>, body: &[u8]) -> String {
    let kind = error_type
        .and_then(|t| t.split(':').next())
        .filter(|t| !t.is_empty());
    let message = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            let m = v.get("message").or_else(|| v.get("Message"))?;
            m.as_str().map(str::to_owned)
        })
        .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(200).collect());
    match kind {
        Some(k) => format!("HTTP {status} {k}: {message}"),
        None => format!("HTTP {status}: {message}"),
    }
}

/// Whether a failed request may pass on a retry or another provider:
/// throttling and server errors; a refused signature or request will not.
pub(super) fn passing(status: u16, error_type: Option<&str>) -> bool {
    status == 429
        || status >= 500
        || error_type.is_some_and(|t| t.starts_with("Throttling") || t.starts_with("LimitExceeded"))
}
