//! One configuration for both Azure Speech directions (`[speech.azure]`).

use std::time::Duration;

use crate::adapter::speech::deepgram::socket::ApiKey;

/// The raw output formats of the TTS REST API this adapter can play.
pub const OUTPUT_FORMATS: [&str; 5] = [
    "raw-8khz-8bit-mono-mulaw",
    "raw-8khz-16bit-mono-pcm",
    "raw-16khz-16bit-mono-pcm",
    "raw-24khz-16bit-mono-pcm",
    "raw-48khz-16bit-mono-pcm",
];

/// How to reach Azure Speech and what to ask of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AzureConfig {
    /// `Ocp-Apim-Subscription-Key`; unused when `token` is set.
    pub api_key: ApiKey,
    /// An access token sent as `Authorization: Bearer` instead of the key
    /// (one from the resource's `issueToken` endpoint, or Microsoft Entra
    /// ID); empty: the key is sent.
    pub token: ApiKey,
    /// The resource's region (`westeurope`): the hosts are
    /// `{region}.stt.speech.microsoft.com` and `{region}.tts.speech.microsoft.com`.
    pub region: String,
    /// Replaces both hosts (`http://127.0.0.1:PORT` for a fake, or a custom
    /// endpoint): STT goes to its `ws(s)://` form, TTS to its `http(s)://` form.
    pub base_url: Option<String>,
    /// Recognition language; `None` uses the session's.
    pub language: Option<String>,
    /// Neural voice (`en-US-JennyNeural`) when the session names none.
    pub voice: String,
    /// One of [`OUTPUT_FORMATS`], forced for every synthesis; `None` picks
    /// the format matching the session's request (µ-law 8 kHz by default).
    pub output_format: Option<String>,
    /// Bound on the WebSocket handshake and the HTTP connect.
    pub connect_timeout: Duration,
    /// How long after the end of a turn to wait for `turn.end` before
    /// answering `finish()` with what was heard so far.
    pub finish_timeout: Duration,
    /// TTS: longest wait for the response head or the next body chunk.
    pub read_timeout: Duration,
}

impl Default for AzureConfig {
    fn default() -> Self {
        Self {
            api_key: ApiKey::default(),
            token: ApiKey::default(),
            region: String::new(),
            base_url: None,
            language: None,
            voice: "en-US-JennyNeural".into(),
            output_format: None,
            connect_timeout: Duration::from_secs(3),
            finish_timeout: Duration::from_secs(3),
            read_timeout: Duration::from_secs(10),
        }
    }
}

impl AzureConfig {
    /// Defaults with the key from `AZURE_SPEECH_KEY`, the token from
    /// `AZURE_SPEECH_TOKEN` and the region from `AZURE_SPEECH_REGION`.
    pub fn from_env() -> Self {
        Self {
            api_key: ApiKey::from_env("AZURE_SPEECH_KEY").unwrap_or_default(),
            token: ApiKey::from_env("AZURE_SPEECH_TOKEN").unwrap_or_default(),
            region: std::env::var("AZURE_SPEECH_REGION").unwrap_or_default(),
            ..Self::default()
        }
    }

    /// `Authorization: Bearer <token>` when there is a token, else
    /// `Ocp-Apim-Subscription-Key: <key>`.
    pub(super) fn auth(&self) -> (&'static str, String) {
        if !self.token.is_empty() {
            return ("authorization", format!("Bearer {}", self.token.expose()));
        }
        (
            "ocp-apim-subscription-key",
            self.api_key.expose().to_owned(),
        )
    }

    /// The base of `service` (`stt` or `tts`) with `scheme_secure` /
    /// `scheme_plain` as its scheme (a fake on loopback is plain).
    fn base(&self, service: &str, secure: &str, plain: &str) -> String {
        match &self.base_url {
            Some(url) => {
                let url = url.trim_end_matches('/');
                let rest = ["https://", "wss://"]
                    .iter()
                    .find_map(|p| url.strip_prefix(p).map(|r| (secure, r)))
                    .or_else(|| {
                        ["http://", "ws://"]
                            .iter()
                            .find_map(|p| url.strip_prefix(p).map(|r| (plain, r)))
                    });
                match rest {
                    Some((scheme, rest)) => format!("{scheme}://{rest}"),
                    None => url.to_owned(),
                }
            }
            None => format!("{secure}://{}.{service}.speech.microsoft.com", self.region),
        }
    }

    /// The recognition WebSocket for `language`.
    pub(super) fn stt_url(&self, language: &str) -> Result<reqwest::Url, String> {
        let base = self.base("stt", "wss", "ws");
        let path = "/speech/recognition/conversation/cognitiveservices/v1";
        let mut url = reqwest::Url::parse(&format!("{base}{path}")).map_err(|e| e.to_string())?;
        url.query_pairs_mut()
            .append_pair("language", language)
            .append_pair("format", "detailed");
        Ok(url)
    }

    /// The synthesis endpoint.
    pub(super) fn tts_url(&self) -> String {
        format!("{}/cognitiveservices/v1", self.base("tts", "https", "http"))
    }
}
