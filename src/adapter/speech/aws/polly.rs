//! Text-to-speech over Amazon Polly `SynthesizeSpeech`.
//!
//! Protocol (Polly API reference, `SynthesizeSpeech`): `POST /v1/speech`,
//! SigV4-signed (service `polly`), JSON `{Text, TextType: "text", VoiceId,
//! Engine, OutputFormat: "pcm", SampleRate: "8000"|"16000"}`; the body is
//! 16-bit signed little-endian mono PCM, read chunk by chunk so audio flows
//! before the sentence is synthesised whole. Errors carry `x-amzn-ErrorType`
//! and a JSON `message`. One request per text piece, in the loop shared with
//! the other request-per-piece adapters (`super::super::pieces`).

use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;

use super::config::{AwsConfig, error_text, passing};
use super::sigv4::{Request, sha256_hex};
use crate::adapter::speech::deepgram::socket::decode_le;
use crate::adapter::speech::pieces::{PieceSpeaker, speak};
use crate::application::ports::speech::{
    BoxFuture, TextToSpeech, TtsAudio, TtsConfig, TtsError, TtsOutput, TtsSession,
};

/// The Polly TTS adapter (`tts = "polly"`).
#[derive(Debug, Clone)]
pub struct PollyTts {
    config: AwsConfig,
    client: reqwest::Client,
}

impl PollyTts {
    /// An adapter; fails only if the HTTP client cannot be built.
    pub fn new(config: AwsConfig) -> Result<Self, TtsError> {
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .build()
            .map_err(|e| TtsError::Connect(e.to_string()))?;
        Ok(Self { config, client })
    }
}

/// Polly's PCM rates: 8 kHz when the call leg is narrowband, else the configured one.
fn rate_for(output: TtsOutput, configured: u32) -> u32 {
    match output {
        TtsOutput::Mulaw8k | TtsOutput::Linear16 { sample_rate: 8000 } => 8000,
        TtsOutput::Linear16 {
            sample_rate: 16_000,
        } => 16_000,
        _ => configured,
    }
}

impl TextToSpeech for PollyTts {
    fn open(&self, config: TtsConfig) -> BoxFuture<'_, Result<TtsSession, TtsError>> {
        Box::pin(async move {
            // Credentials first (the instance role's may need a refresh);
            // then the first piece's request is the first contact, and its
            // failure arrives as `TtsEvent::Error`.
            self.config
                .credentials
                .fresh(std::time::SystemTime::now())
                .await
                .map_err(TtsError::Connect)?;
            let voice = config.voice.clone().unwrap_or(self.config.voice.clone());
            let rate = rate_for(config.output, self.config.sample_rate);
            let (session, end) = TtsSession::channel(config);
            let task = Task {
                config: self.config.clone(),
                client: self.client.clone(),
                voice,
                rate,
            };
            tokio::spawn(speak(task, end));
            Ok(session)
        })
    }
}

struct Task {
    config: AwsConfig,
    client: reqwest::Client,
    voice: String,
    rate: u32,
}

impl PieceSpeaker for Task {
    fn name(&self) -> &'static str {
        "polly"
    }

    fn read_timeout(&self) -> Duration {
        self.config.read_timeout
    }

    /// One piece's request, signed.
    fn request(&self, text: &str) -> Result<reqwest::RequestBuilder, TtsError> {
        let base = self.config.polly_url();
        let url = reqwest::Url::parse(&format!("{base}/v1/speech"))
            .map_err(|e| TtsError::Connect(format!("speech.aws.polly_endpoint: {e}")))?;
        let host = match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_owned(),
            (None, _) => return Err(TtsError::Connect(format!("{base:?} has no host"))),
        };
        let body = self.body(text);
        let mut r = Request {
            method: "POST",
            path: "/v1/speech".into(),
            headers: vec![
                ("host".into(), host),
                ("content-type".into(), "application/json".into()),
            ],
            payload_hash: sha256_hex(&body),
        };
        self.config
            .signer("polly")
            .map_err(TtsError::Connect)?
            .sign(&mut r, SystemTime::now());
        let mut request = self.client.post(url).body(body);
        for (name, value) in r.headers.iter().filter(|(n, _)| n != "host") {
            request = request.header(name.as_str(), value.as_str());
        }
        Ok(request)
    }

    fn decode(&self, odd: &mut Option<u8>, bytes: &[u8]) -> (TtsAudio, u32) {
        (TtsAudio::Linear16(decode_le(odd, bytes)), self.rate)
    }

    /// Polly names its errors in `x-amzn-ErrorType`; throttling may pass.
    fn refusal(&self, status: u16, headers: &HeaderMap, body: &[u8]) -> TtsError {
        let error_type = headers
            .get("x-amzn-errortype")
            .and_then(|v| v.to_str().ok());
        let text = format!("polly: {}", error_text(status, error_type, body));
        if passing(status, error_type) {
            TtsError::Provider(text)
        } else {
            TtsError::Rejected(text)
        }
    }
}

impl Task {
    /// The request body for one piece.
    fn body(&self, text: &str) -> Vec<u8> {
        serde_json::json!({
            "Engine": self.config.engine,
            "OutputFormat": "pcm",
            "SampleRate": self.rate.to_string(),
            "Text": text,
            "TextType": "text",
            "VoiceId": self.voice,
        })
        .to_string()
        .into_bytes()
    }
}
