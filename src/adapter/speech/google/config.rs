//! One configuration for both Google directions (`[speech.google]`).

use std::path::PathBuf;
use std::time::Duration;

use crate::adapter::speech::deepgram::ApiKey;

/// How the gateway proves who it is to Google.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GoogleCredentials {
    /// `x-goog-api-key: <key>` on every request.
    ApiKey(ApiKey),
    /// A service-account key file (JSON): a signed JWT is exchanged at the
    /// file's `token_uri` for an OAuth access token, sent as `Bearer`.
    ServiceAccount(PathBuf),
}

/// The audio encoding sent to Speech-to-Text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SttEncoding {
    /// 16-bit little-endian PCM, as the session delivers it.
    Linear16,
    /// G.711 µ-law, half the bytes (8 kHz sessions are the telephone's own).
    Mulaw,
}

/// How to reach Google and what to ask of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoogleConfig {
    pub credentials: GoogleCredentials,
    /// Cloud project of the recognizer path (STT only).
    pub project: String,
    /// `global`, `us`, `eu` or a region (see [`regional_stt_endpoint`]).
    pub location: String,
    /// Recognition model (`telephony`, `long`, `chirp_2`, …).
    pub model: String,
    /// Overrides the session's language for both directions.
    pub language: Option<String>,
    /// TTS voice (`en-US-Neural2-F`) when the session names none; `None`
    /// lets Google pick one for the language.
    pub voice: Option<String>,
    /// gRPC endpoint of Speech-to-Text (`https://speech.googleapis.com`).
    pub stt_endpoint: String,
    /// REST endpoint of Text-to-Speech (`https://texttospeech.googleapis.com`).
    pub tts_endpoint: String,
    /// What the audio sent to Speech-to-Text is encoded as.
    pub stt_encoding: SttEncoding,
    /// Bound on connecting (and on the token exchange).
    pub connect_timeout: Duration,
    /// TTS: longest wait for a response.
    pub read_timeout: Duration,
    /// How long after a `finish()` to wait for Google's last results before
    /// answering with what was heard so far.
    pub finalize_timeout: Duration,
}

/// The Speech-to-Text v2 host serving recognizers of `location`: Google
/// answers `global` on `speech.googleapis.com` and every other location on
/// `{location}-speech.googleapis.com` only.
pub fn regional_stt_endpoint(location: &str) -> String {
    if location == "global" {
        "https://speech.googleapis.com".into()
    } else {
        format!("https://{location}-speech.googleapis.com")
    }
}

impl GoogleConfig {
    /// Defaults for these credentials and project.
    pub fn new(credentials: GoogleCredentials, project: impl Into<String>) -> Self {
        Self {
            credentials,
            project: project.into(),
            location: "global".into(),
            model: "telephony".into(),
            language: None,
            voice: None,
            stt_endpoint: "https://speech.googleapis.com".into(),
            tts_endpoint: "https://texttospeech.googleapis.com".into(),
            stt_encoding: SttEncoding::Linear16,
            connect_timeout: Duration::from_secs(3),
            read_timeout: Duration::from_secs(10),
            finalize_timeout: Duration::from_secs(2),
        }
    }

    /// `projects/{project}/locations/{location}/recognizers/_`: the
    /// recognizer-less path, all settings inline.
    pub(super) fn recognizer(&self) -> String {
        format!(
            "projects/{}/locations/{}/recognizers/_",
            self.project, self.location
        )
    }
}
