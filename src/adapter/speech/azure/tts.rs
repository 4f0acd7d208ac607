//! Text-to-speech over Azure Speech's REST endpoint.
//!
//! Protocol (Azure docs, "Text to speech REST API"): `POST
//! https://{region}.tts.speech.microsoft.com/cognitiveservices/v1` with
//! `Ocp-Apim-Subscription-Key`, `Content-Type: application/ssml+xml`,
//! `X-Microsoft-OutputFormat` (a `raw-*` format: no container to parse) and
//! an SSML body naming the voice; the audio comes back chunked as it is
//! synthesised. 401: bad key; 429: throttled; 400: bad SSML or voice. One
//! request per text piece, in the loop shared with the other
//! request-per-piece adapters (`super::super::pieces`).

use std::time::Duration;

use super::config::AzureConfig;
use crate::adapter::speech::deepgram::socket::decode_le;
use crate::adapter::speech::pieces::{PieceSpeaker, speak};
use crate::application::ports::speech::{
    BoxFuture, TextToSpeech, TtsAudio, TtsConfig, TtsError, TtsOutput, TtsSession,
};

/// The Azure Speech TTS adapter.
#[derive(Debug, Clone)]
pub struct AzureTts {
    config: AzureConfig,
    client: reqwest::Client,
}

impl AzureTts {
    /// An adapter; fails only if the HTTP client cannot be built.
    pub fn new(config: AzureConfig) -> Result<Self, TtsError> {
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .user_agent(concat!("voice-gateway/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| TtsError::Connect(e.to_string()))?;
        Ok(Self { config, client })
    }
}

/// The audio a `raw-*` output format carries: µ-law or not, and the rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Format {
    pub(crate) name: &'static str,
    pub(crate) mulaw: bool,
    pub(crate) rate: u32,
}

/// What `name` (one of [`super::config::OUTPUT_FORMATS`]) carries.
pub(crate) fn format_named(name: &str) -> Option<Format> {
    let name = super::config::OUTPUT_FORMATS
        .into_iter()
        .find(|f| *f == name)?;
    let khz: u32 = name
        .strip_prefix("raw-")?
        .split("khz")
        .next()?
        .parse()
        .ok()?;
    Some(Format {
        name,
        mulaw: name.ends_with("mulaw"),
        rate: khz * 1000,
    })
}

/// The format for a session: the configured one, else the closest to what
/// it asks (µ-law 8 kHz, the phone's own, for `Native`).
fn format_for(config: &AzureConfig, output: TtsOutput) -> Format {
    let name = match (config.output_format.as_deref(), output) {
        (Some(forced), _) => forced,
        (None, TtsOutput::Linear16 { sample_rate }) => match sample_rate {
            0..=8_000 => "raw-8khz-16bit-mono-pcm",
            8_001..=16_000 => "raw-16khz-16bit-mono-pcm",
            16_001..=24_000 => "raw-24khz-16bit-mono-pcm",
            _ => "raw-48khz-16bit-mono-pcm",
        },
        (None, TtsOutput::Mulaw8k | TtsOutput::Native) => "raw-8khz-8bit-mono-mulaw",
    };
    // check-config refuses unknown names; a programmatic one falls back.
    format_named(name).unwrap_or(Format {
        name: "raw-8khz-8bit-mono-mulaw",
        mulaw: true,
        rate: 8_000,
    })
}

/// XML-escapes text and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters are not allowed in XML 1.0.
            c if c.is_control() && !matches!(c, '\t' | '\n' | '\r') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The SSML document speaking `text` with `voice` in `language`.
pub(crate) fn ssml(language: &str, voice: &str, text: &str) -> String {
    format!(
        "<speak version=\"1.0\" xmlns=\"http://www.w3.org/2001/10/synthesis\" xml:lang=\"{}\">\
         <voice name=\"{}\">{}</voice></speak>",
        escape(language),
        escape(voice),
        escape(text)
    )
}

impl TextToSpeech for AzureTts {
    fn open(&self, config: TtsConfig) -> BoxFuture<'_, Result<TtsSession, TtsError>> {
        Box::pin(async move {
            // HTTP needs nothing up front: the first piece's request is the
            // first contact, and its failure arrives as `TtsEvent::Error`.
            let task = Task {
                voice: config.voice.clone().unwrap_or(self.config.voice.clone()),
                language: config.language.clone(),
                format: format_for(&self.config, config.output),
                config: self.config.clone(),
                client: self.client.clone(),
            };
            let (session, end) = TtsSession::channel(config);
            tokio::spawn(speak(task, end));
            Ok(session)
        })
    }
}

struct Task {
    config: AzureConfig,
    client: reqwest::Client,
    voice: String,
    language: String,
    format: Format,
}

impl PieceSpeaker for Task {
    fn name(&self) -> &'static str {
        "azure"
    }

    fn read_timeout(&self) -> Duration {
        self.config.read_timeout
    }

    fn request(&self, text: &str) -> Result<reqwest::RequestBuilder, TtsError> {
        let (auth, credential) = self.config.auth();
        Ok(self
            .client
            .post(self.config.tts_url())
            .header(auth, credential)
            .header("content-type", "application/ssml+xml")
            .header("x-microsoft-outputformat", self.format.name)
            .body(ssml(&self.language, &self.voice, text)))
    }

    fn decode(&self, odd: &mut Option<u8>, bytes: &[u8]) -> (TtsAudio, u32) {
        let audio = if self.format.mulaw {
            TtsAudio::Mulaw(bytes.to_vec())
        } else {
            TtsAudio::Linear16(decode_le(odd, bytes))
        };
        (audio, self.format.rate)
    }
}
