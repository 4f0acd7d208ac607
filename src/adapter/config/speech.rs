//! `[speech]`: which provider serves each direction, and one sub-section per
//! provider with what it needs (`[speech.wyoming]`, then the cloud ones).
//! A provider's sub-section is read even when it is not selected, so a
//! mistake in it is reported before someone switches to it.

use serde::{Deserialize, Serialize};

/// A speech provider, named in `[speech] stt`/`tts`. Adding one: a variant
/// here, its sub-section in [`SpeechSection`], one arm in the server's wiring.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SpeechProvider {
    /// Local engines over the Wyoming protocol (the embedded default).
    Wyoming,
    /// In-process stand-ins: a tone-like voice and scripted recognition (tests, demos).
    Fake,
    /// Deepgram live STT and Aura TTS (`[speech.deepgram]`).
    Deepgram,
    /// ElevenLabs stream-input TTS (`[speech.elevenlabs]`).
    Elevenlabs,
    /// OpenAI: `/v1/audio/speech` TTS (OpenAI-compatible servers too) and
    /// Realtime / `/v1/audio/transcriptions` STT (`[speech.openai]`).
    Openai,
    /// Azure Speech real-time STT and REST TTS (`[speech.azure]`).
    Azure,
    /// Amazon Transcribe streaming STT (`[speech.aws]`).
    Aws,
    /// Amazon Polly TTS (`[speech.aws]`).
    Polly,
    /// Google Speech-to-Text v2 (gRPC) and Text-to-Speech (`[speech.google]`).
    Google,
}

impl SpeechProvider {
    /// The name used in configuration and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Self::Wyoming => "wyoming",
            Self::Fake => "fake",
            Self::Deepgram => "deepgram",
            Self::Elevenlabs => "elevenlabs",
            Self::Openai => "openai",
            Self::Azure => "azure",
            Self::Aws => "aws",
            Self::Polly => "polly",
            Self::Google => "google",
        }
    }

    /// Every provider, for lookups by name.
    pub const ALL: [Self; 9] = [
        Self::Wyoming,
        Self::Fake,
        Self::Deepgram,
        Self::Elevenlabs,
        Self::Openai,
        Self::Azure,
        Self::Aws,
        Self::Polly,
        Self::Google,
    ];

    /// Every provider's name, comma-separated, for messages.
    pub fn names() -> String {
        Self::ALL.map(Self::name).join(", ")
    }

    /// The provider called `name` in configuration.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    /// Whether it recognises speech.
    pub fn offers_stt(self) -> bool {
        matches!(
            self,
            Self::Wyoming
                | Self::Fake
                | Self::Deepgram
                | Self::Openai
                | Self::Azure
                | Self::Aws
                | Self::Google
        )
    }

    /// Whether it synthesises speech (AWS's is `polly`, not `aws`).
    pub fn offers_tts(self) -> bool {
        !matches!(self, Self::Aws)
    }
}

/// `[speech]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpeechSection {
    /// Speech-to-text provider.
    pub stt: SpeechProvider,
    /// Text-to-speech provider.
    pub tts: SpeechProvider,
    /// Providers tried in order when the STT provider fails mid-call.
    pub stt_fallback: Vec<SpeechProvider>,
    /// Providers tried in order when the TTS provider fails or stalls.
    pub tts_fallback: Vec<SpeechProvider>,
    /// A TTS with no audio this long after its first text is replaced.
    pub first_byte_timeout: super::HumanDuration,
    /// A 16-bit PCM mono WAV played instead of an utterance every TTS
    /// provider failed to speak; empty: nothing is played.
    pub tts_failure_prompt: String,
    /// `[speech.wyoming]`
    pub wyoming: WyomingSection,
    /// `[speech.fake]`
    pub fake: FakeSection,
    /// `[speech.deepgram]`
    pub deepgram: CloudSection,
    /// `[speech.elevenlabs]`
    pub elevenlabs: CloudSection,
    /// `[speech.openai]`
    pub openai: OpenAiSection,
    /// `[speech.azure]`
    pub azure: AzureSection,
    /// `[speech.aws]`: Transcribe (`stt = "aws"`) and Polly (`tts = "polly"`).
    pub aws: AwsSection,
    /// `[speech.google]`
    pub google: GoogleSection,
}

impl Default for SpeechSection {
    fn default() -> Self {
        Self {
            stt: SpeechProvider::Wyoming,
            tts: SpeechProvider::Wyoming,
            stt_fallback: Vec::new(),
            tts_fallback: Vec::new(),
            first_byte_timeout: super::HumanDuration(std::time::Duration::from_secs(5)),
            tts_failure_prompt: String::new(),
            wyoming: WyomingSection::default(),
            fake: FakeSection::default(),
            deepgram: CloudSection::default(),
            elevenlabs: CloudSection::default(),
            openai: OpenAiSection::default(),
            azure: AzureSection::default(),
            aws: AwsSection::default(),
            google: GoogleSection::default(),
        }
    }
}

/// `[speech.deepgram]`, `[speech.elevenlabs]`, `[speech.openai]`: every key is
/// optional and overrides the adapter's own default. The API key may instead
/// come from `DEEPGRAM_API_KEY`, `ELEVENLABS_API_KEY` or `OPENAI_API_KEY`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CloudSection {
    /// API key. Never printed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key: Option<super::Secret>,
    /// Base URL (a self-hosted server, or a test double).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// Model (Deepgram: the STT model; OpenAI: the TTS model; ElevenLabs: `model_id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Voice (Deepgram: the Aura model; OpenAI: the voice; ElevenLabs: `voice_id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub voice: Option<String>,
    /// Language for recognition (Deepgram).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

/// `[speech.azure]`: every key is optional; the key may instead come from
/// `AZURE_SPEECH_KEY`, the token from `AZURE_SPEECH_TOKEN` and the region
/// from `AZURE_SPEECH_REGION`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AzureSection {
    /// Subscription key (`Ocp-Apim-Subscription-Key`). Never printed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key: Option<super::Secret>,
    /// An access token sent as `Authorization: Bearer` instead of the key.
    /// Never printed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<super::Secret>,
    /// The Speech resource's region (`westeurope`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Replaces the regional hosts (a custom endpoint, or a test double).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// Recognition language, overriding the call's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Neural voice for synthesis (`en-US-JennyNeural`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub voice: Option<String>,
    /// A `raw-*` output format forced for every synthesis.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_format: Option<String>,
}

/// Checks `[speech.azure]`.
fn validate_azure(a: &AzureSection) -> Result<(), (&'static str, String)> {
    use crate::adapter::speech::azure::config::OUTPUT_FORMATS;
    if let Some(r) = &a.region
        && (r.is_empty()
            || !r
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()))
    {
        return Err((
            "speech.azure.region",
            format!("{r:?} is not a region like westeurope"),
        ));
    }
    if let Some(f) = &a.output_format
        && !OUTPUT_FORMATS.contains(&f.as_str())
    {
        let known = OUTPUT_FORMATS.join(", ");
        return Err((
            "speech.azure.output_format",
            format!("{f:?} is not one of {known}"),
        ));
    }
    let blank = |v: &Option<String>| v.as_deref().is_some_and(|v| v.trim().is_empty());
    if a.token
        .as_ref()
        .is_some_and(|t| t.expose().trim().is_empty())
    {
        return Err(("speech.azure.token", "is empty".into()));
    }
    for (key, v) in [
        ("speech.azure.language", &a.language),
        ("speech.azure.voice", &a.voice),
    ] {
        if blank(v) {
            return Err((key, "is empty".into()));
        }
    }
    Ok(())
}

/// `[speech.openai]`: the keys of [`CloudSection`] (`model` and `voice` are
/// the TTS's, `language` recognition's), and recognition's own. The API key
/// may instead come from `OPENAI_API_KEY`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OpenAiSection {
    /// API key. Never printed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key: Option<super::Secret>,
    /// Base URL without `/v1` (a self-hosted server, or a test double).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// TTS model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// TTS voice.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub voice: Option<String>,
    /// Recognition language (BCP 47 or ISO-639-1; sent as ISO-639-1),
    /// overriding the session's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Recognition model: `gpt-4o-transcribe` (default),
    /// `gpt-4o-mini-transcribe`, `whisper-1`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stt_model: Option<String>,
    /// `realtime` (default: streaming, REST when the socket cannot open) or `rest`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stt_mode: Option<crate::adapter::speech::openai::SttMode>,
    /// The Realtime WebSocket URL; default: from `base_url`
    /// (`wss://…/v1/realtime?intent=transcription`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub realtime_url: Option<String>,
}

/// `[speech.aws]`: every key is optional. Credentials not set here come from
/// the standard chain: `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/
/// `AWS_SESSION_TOKEN`, then the shared credentials file under `AWS_PROFILE`,
/// then the EC2 instance role (IMDSv2, fetched at first use); the region from `AWS_REGION`/`AWS_DEFAULT_REGION`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AwsSection {
    /// `us-east-1`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Access key id (not secret, but it comes with one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    /// Secret access key. Never printed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_access_key: Option<super::Secret>,
    /// Session token of temporary credentials. Never printed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_token: Option<super::Secret>,
    /// Transcribe streaming base URL (a test double: `http://` is HTTP/2 without TLS).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transcribe_endpoint: Option<String>,
    /// Polly base URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub polly_endpoint: Option<String>,
    /// Transcribe language code (`en-US`), overriding the session's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Polly voice (`Joanna`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub voice: Option<String>,
    /// Polly engine: `standard`, `neural`, `long-form` or `generative`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
    /// Polly PCM rate when the call asks for none: 8000 or 16000.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample_rate: Option<u32>,
}

/// Checks `[speech.aws]`; the error names the key.
fn validate_aws(a: &AwsSection) -> Result<(), (&'static str, String)> {
    let name_like =
        |v: &str| !v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if let Some(r) = &a.region
        && !name_like(r)
    {
        return Err((
            "speech.aws.region",
            format!("{r:?} is not a region like us-east-1"),
        ));
    }
    for (key, url) in [
        ("speech.aws.transcribe_endpoint", &a.transcribe_endpoint),
        ("speech.aws.polly_endpoint", &a.polly_endpoint),
    ] {
        if let Some(u) = url
            && !(u.starts_with("http://") || u.starts_with("https://"))
        {
            return Err((key, format!("{u:?} is not an http(s):// URL")));
        }
    }
    if let Some(l) = &a.language
        && !name_like(l)
    {
        return Err((
            "speech.aws.language",
            format!("{l:?} is not a language code like en-US"),
        ));
    }
    if let Some(v) = &a.voice
        && !name_like(v)
    {
        return Err((
            "speech.aws.voice",
            format!("{v:?} is not a Polly voice id like Joanna"),
        ));
    }
    if let Some(e) = &a.engine
        && !["standard", "neural", "long-form", "generative"].contains(&e.as_str())
    {
        return Err((
            "speech.aws.engine",
            format!("{e:?} is not standard, neural, long-form or generative"),
        ));
    }
    if let Some(r) = a.sample_rate
        && r != 8000
        && r != 16_000
    {
        return Err((
            "speech.aws.sample_rate",
            format!("{r} is not 8000 or 16000"),
        ));
    }
    if a.secret_access_key.is_some() != a.access_key_id.is_some() {
        let missing = if a.access_key_id.is_none() {
            "speech.aws.access_key_id"
        } else {
            "speech.aws.secret_access_key"
        };
        return Err((missing, "is needed with the other key of the pair".into()));
    }
    Ok(())
}

/// `[speech.google]`: credentials (an API key, or a service-account key
/// file; else `GOOGLE_API_KEY`, then `GOOGLE_APPLICATION_CREDENTIALS`), the
/// project and location of the recognizer, and overrides of the adapter's
/// defaults.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GoogleSection {
    /// API key (`x-goog-api-key`). Never printed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key: Option<super::Secret>,
    /// Path of a service-account key file (JSON).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credentials_file: Option<String>,
    /// Cloud project (STT); else the key file's `project_id`, else `GOOGLE_CLOUD_PROJECT`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// Recognizer location (`global`, `us`, `eu`, a region).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Recognition model (`telephony`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Language for both directions, overriding the session's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// TTS voice name (`en-US-Neural2-F`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub voice: Option<String>,
    /// Speech-to-Text gRPC endpoint (a test double, a regional host).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stt_endpoint: Option<String>,
    /// Text-to-Speech REST endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tts_endpoint: Option<String>,
    /// Audio sent to Speech-to-Text: `linear16` or `mulaw`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stt_encoding: Option<GoogleSttEncoding>,
}

/// `speech.google.stt_encoding`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum GoogleSttEncoding {
    /// 16-bit PCM.
    Linear16,
    /// G.711 µ-law.
    Mulaw,
}

/// `[speech.fake]`: the fixed delays of the in-process stand-ins, so that a
/// load benchmark measures the gateway and nothing else. The defaults are the
/// adapters' own.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FakeSection {
    /// Recogniser: end of an utterance (`finish`) → its final transcript.
    pub stt_final_delay: super::HumanDuration,
    /// Recogniser: time between interim results while speech flows.
    pub stt_interim_every: super::HumanDuration,
    /// Recogniser: quiet time after which it finalises an utterance by itself.
    pub stt_trailing_silence: super::HumanDuration,
    /// Synthesiser: first text → first audio chunk.
    pub tts_first_audio_delay: super::HumanDuration,
    /// Synthesiser: how many times faster than real time audio comes (≥ 1).
    pub tts_speedup: u32,
}

impl Default for FakeSection {
    fn default() -> Self {
        let (stt, tts) = (
            crate::adapter::speech::fake::FakeSttConfig::default(),
            crate::adapter::speech::fake::FakeTtsConfig::default(),
        );
        Self {
            stt_final_delay: super::HumanDuration(stt.final_delay),
            stt_interim_every: super::HumanDuration(stt.interim_every),
            stt_trailing_silence: super::HumanDuration(
                stt.trailing_silence
                    .unwrap_or(std::time::Duration::from_millis(800)),
            ),
            tts_first_audio_delay: super::HumanDuration(tts.first_audio_delay),
            tts_speedup: tts.speedup,
        }
    }
}

/// `[speech.wyoming]`: the local servers (Whisper via `scripts/whisper-server.py`,
/// `wyoming-piper`); `make run` starts them on these addresses.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WyomingSection {
    /// Speech-to-text server, `tcp://HOST:PORT`.
    pub stt: String,
    /// Text-to-speech server, `tcp://HOST:PORT`.
    pub tts: String,
    /// Piper voice to ask for; absent: the server's own `--voice`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub voice: Option<String>,
    /// Whisper's initial prompt: the words callers are expected to say. The
    /// Wyoming protocol cannot carry it, so it is the STT server's
    /// `--initial-prompt`, set when `make run` starts the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initial_prompt: Option<String>,
}

/// Words the built-in agent acts on; tiny.en hears them far more reliably
/// when they are named in its prompt.
const BUILTIN_AGENT_PROMPT: &str = "Transfer me to a person, an agent or billing. Goodbye.";

impl Default for WyomingSection {
    fn default() -> Self {
        Self {
            stt: "tcp://127.0.0.1:10300".into(),
            tts: "tcp://127.0.0.1:10200".into(),
            voice: None,
            initial_prompt: Some(BUILTIN_AGENT_PROMPT.into()),
        }
    }
}

/// Checks `[speech]`; the error names the key.
pub(super) fn validate(s: &SpeechSection) -> Result<(), (&'static str, String)> {
    for (key, addr) in [
        ("speech.wyoming.stt", &s.wyoming.stt),
        ("speech.wyoming.tts", &s.wyoming.tts),
    ] {
        let ok = addr
            .strip_prefix("tcp://")
            .and_then(|a| a.rsplit_once(':'))
            .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok_and(|p| p > 0));
        if !ok {
            return Err((key, format!("{addr:?} is not tcp://HOST:PORT")));
        }
    }
    if s.wyoming.voice.as_deref().is_some_and(|v| {
        v.is_empty()
            || !v
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    }) {
        return Err((
            "speech.wyoming.voice",
            "is not a voice name like en_US-joe-medium".into(),
        ));
    }
    if s.fake.tts_speedup == 0 {
        return Err((
            "speech.fake.tts_speedup",
            "must be at least 1 (1 = real time)".into(),
        ));
    }
    if s.fake.stt_interim_every.0.is_zero() {
        return Err((
            "speech.fake.stt_interim_every",
            "must be longer than zero".into(),
        ));
    }
    for (key, list, primary) in [
        ("speech.stt_fallback", &s.stt_fallback, s.stt),
        ("speech.tts_fallback", &s.tts_fallback, s.tts),
    ] {
        if list.contains(&primary) {
            return Err((
                key,
                format!(
                    "lists {} which is already the primary provider",
                    primary.name()
                ),
            ));
        }
    }
    if let Some(p) = std::iter::once(s.stt)
        .chain(s.stt_fallback.iter().copied())
        .find(|p| !p.offers_stt())
    {
        return Err((
            "speech.stt",
            format!("{} offers no speech-to-text", p.name()),
        ));
    }
    if let Some(p) = std::iter::once(s.tts)
        .chain(s.tts_fallback.iter().copied())
        .find(|p| !p.offers_tts())
    {
        return Err((
            "speech.tts",
            format!("{} offers no text-to-speech (AWS's is polly)", p.name()),
        ));
    }
    validate_aws(&s.aws)?;
    for (key, url) in [
        ("speech.deepgram.base_url", &s.deepgram.base_url),
        ("speech.elevenlabs.base_url", &s.elevenlabs.base_url),
        ("speech.openai.base_url", &s.openai.base_url),
        ("speech.azure.base_url", &s.azure.base_url),
    ] {
        if let Some(u) = url
            && !["http://", "https://", "ws://", "wss://"]
                .iter()
                .any(|p| u.starts_with(p))
        {
            return Err((key, format!("{u:?} is not an http(s):// or ws(s):// URL")));
        }
    }
    validate_azure(&s.azure)?;
    validate_openai(&s.openai)?;
    validate_google(&s.google)
}

/// `[speech.openai]`'s recognition keys.
fn validate_openai(o: &OpenAiSection) -> Result<(), (&'static str, String)> {
    if let Some(u) = &o.realtime_url
        && !(u.starts_with("ws://") || u.starts_with("wss://"))
    {
        return Err((
            "speech.openai.realtime_url",
            format!("{u:?} is not a ws(s):// URL"),
        ));
    }
    if let Some(m) = &o.stt_model
        && (m.is_empty() || m.chars().any(char::is_whitespace))
    {
        return Err((
            "speech.openai.stt_model",
            format!("{m:?} is not a model name like gpt-4o-transcribe"),
        ));
    }
    if let Some(l) = &o.language
        && crate::adapter::speech::openai::realtime::iso_639_1(l).is_none()
    {
        return Err((
            "speech.openai.language",
            format!("{l:?} is not a language like en or en-US"),
        ));
    }
    Ok(())
}

fn validate_google(g: &GoogleSection) -> Result<(), (&'static str, String)> {
    for (key, url) in [
        ("speech.google.stt_endpoint", &g.stt_endpoint),
        ("speech.google.tts_endpoint", &g.tts_endpoint),
    ] {
        if let Some(u) = url
            && !(u.starts_with("http://") || u.starts_with("https://"))
        {
            return Err((key, format!("{u:?} is not an http(s):// URL")));
        }
    }
    for (key, v) in [
        ("speech.google.project", &g.project),
        ("speech.google.location", &g.location),
        ("speech.google.model", &g.model),
    ] {
        if let Some(v) = v
            && (v.is_empty()
                || !v
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)))
        {
            return Err((key, format!("{v:?} is not a name (letters, digits, - _ .)")));
        }
    }
    if g.credentials_file.as_deref().is_some_and(str::is_empty) {
        return Err(("speech.google.credentials_file", "is empty".into()));
    }
    Ok(())
}

/// Checks a `[[routes]]` entry's provider names (that each is a provider
/// this instance can construct is checked when the server starts); the error
/// names the field.
pub(super) fn validate_route(r: &super::RouteConfig) -> Result<(), (&'static str, String)> {
    for (field, primary, fallbacks, stt) in [
        ("stt", &r.stt, &r.stt_fallback, true),
        ("tts", &r.tts, &r.tts_fallback, false),
    ] {
        let fallback_field = if stt { "stt_fallback" } else { "tts_fallback" };
        let names = primary
            .iter()
            .map(|n| (field, n))
            .chain(fallbacks.iter().map(|n| (fallback_field, n)));
        let mut seen = Vec::new();
        for (key, name) in names {
            let Some(p) = SpeechProvider::from_name(name) else {
                return Err((
                    key,
                    format!(
                        "{name:?} is not a speech provider ({})",
                        SpeechProvider::names()
                    ),
                ));
            };
            if stt && !p.offers_stt() {
                return Err((key, format!("{name} offers no speech-to-text")));
            }
            if !stt && !p.offers_tts() {
                return Err((key, format!("{name} offers no text-to-speech")));
            }
            if seen.contains(&p) {
                return Err((key, format!("{name} is listed twice")));
            }
            seen.push(p);
        }
    }
    Ok(())
}
