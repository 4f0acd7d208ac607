//! Sans-IO part of the Realtime API's transcription sessions: the client
//! events we send and the server events we act on.
//!
//! Protocol (OpenAI API reference, "Realtime" client and server events, beta
//! interface selected with `OpenAI-Beta: realtime=v1`): after the upgrade the
//! server says `transcription_session.created`; the client configures with
//! `transcription_session.update` (input format, transcription model,
//! language, prompt, `turn_detection: null` so that only our `commit` ends an
//! utterance) and is answered by `transcription_session.updated` or `error`.
//! Audio goes as base64 in `input_audio_buffer.append`; `commit` turns the
//! buffer into a conversation item (`input_audio_buffer.committed` with its
//! `item_id`), whose transcript streams as
//! `conversation.item.input_audio_transcription.delta` and ends with
//! `.completed` (or `.failed`). `error` carries every other failure, rate
//! limits included (`code: rate_limit_exceeded`).

use base64::Engine;
use serde_json::{Value, json};

/// The audio format of a session's `input_audio_buffer.append`s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InputFormat {
    /// G.711 µ-law at 8 kHz: what narrow-band calls carry, half the bytes.
    G711Ulaw,
    /// 16-bit little-endian mono PCM at 24 kHz (the only PCM rate accepted).
    Pcm16,
}

impl InputFormat {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::G711Ulaw => "g711_ulaw",
            Self::Pcm16 => "pcm16",
        }
    }
}

/// What to ask of the transcription session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SessionSetup {
    pub(crate) format: InputFormat,
    pub(crate) model: String,
    /// ISO-639-1 (`en`), or `None` to let the model detect it.
    pub(crate) language: Option<String>,
    pub(crate) prompt: Option<String>,
}

/// `transcription_session.update`: our configuration, server VAD off.
pub(crate) fn session_update(s: &SessionSetup) -> Value {
    let mut transcription = json!({ "model": s.model });
    if let Some(language) = &s.language {
        transcription["language"] = json!(language);
    }
    if let Some(prompt) = &s.prompt {
        transcription["prompt"] = json!(prompt);
    }
    json!({
        "type": "transcription_session.update",
        "session": {
            "input_audio_format": s.format.name(),
            "input_audio_transcription": transcription,
            "turn_detection": null,
        }
    })
}

/// `input_audio_buffer.append` with `audio` (already in the session's format).
pub(crate) fn append(audio: &[u8]) -> Value {
    let audio = base64::engine::general_purpose::STANDARD.encode(audio);
    json!({ "type": "input_audio_buffer.append", "audio": audio })
}

/// `input_audio_buffer.commit` or `.clear`.
pub(crate) fn buffer(action: &str) -> Value {
    json!({ "type": format!("input_audio_buffer.{action}") })
}

/// A BCP 47 tag (`en-US`) as the ISO-639-1 code the API expects (`en`).
pub(crate) fn iso_639_1(tag: &str) -> Option<String> {
    let primary = tag.split(['-', '_']).next()?.trim().to_ascii_lowercase();
    (primary.len() == 2 && primary.chars().all(|c| c.is_ascii_alphabetic())).then_some(primary)
}

/// An `error` object: what the server said, and its class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    /// `type` (`invalid_request_error`, `server_error`, …).
    pub(crate) kind: String,
    /// `code` (`rate_limit_exceeded`, `invalid_api_key`, …), if any.
    pub(crate) code: Option<String>,
    pub(crate) message: String,
}

impl ApiError {
    fn from_value(v: &Value) -> Self {
        let text = |k: &str| v[k].as_str().map(str::to_owned);
        Self {
            kind: text("type").unwrap_or_default(),
            code: text("code"),
            message: text("message").unwrap_or_else(|| "unspecified error".into()),
        }
    }

    /// Throttling: worth trying again later, or elsewhere.
    pub(crate) fn is_rate_limit(&self) -> bool {
        self.code
            .as_deref()
            .is_some_and(|c| c.contains("rate_limit"))
            || self.kind.contains("rate_limit")
    }

    /// A refused key or request, which retrying will not change.
    pub(crate) fn is_refusal(&self) -> bool {
        let code = self.code.as_deref().unwrap_or_default();
        !self.is_rate_limit()
            && (self.kind == "invalid_request_error"
                || self.kind.contains("authentication")
                || code.contains("api_key"))
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let message = crate::adapter::speech::deepgram::socket::excerpt(&self.message);
        match &self.code {
            Some(code) => write!(f, "{code}: {message}"),
            None => write!(f, "{}: {message}", self.kind),
        }
    }
}

/// A server event we act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ServerEvent {
    /// `transcription_session.created` / `.updated`.
    Session { updated: bool },
    /// `input_audio_buffer.committed`: the buffer became item `item_id`.
    Committed { item_id: String },
    /// Part of an item's transcript.
    Delta { item_id: String, delta: String },
    /// An item's whole transcript.
    Completed { item_id: String, transcript: String },
    /// An item could not be transcribed.
    Failed { item_id: String, error: ApiError },
    /// `error`: a failure of the session or of our last event.
    Error(ApiError),
    /// Anything else (`rate_limits.updated`, `conversation.item.created`, …):
    /// ignored, for forward compatibility.
    Other(String),
}

fn field<'a>(v: &'a Value, key: &str, kind: &str) -> Result<&'a str, String> {
    v[key]
        .as_str()
        .ok_or_else(|| format!("{kind} without a string {key}"))
}

/// Parses one text message; `Err` for anything that is not a JSON object
/// with a `type`, or an event we act on without its fields.
pub(crate) fn parse(text: &str) -> Result<ServerEvent, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let kind = v["type"].as_str().ok_or("an event without a type")?;
    const ITEM: &str = "conversation.item.input_audio_transcription.";
    let item_id = || field(&v, "item_id", kind).map(str::to_owned);
    Ok(match kind {
        "transcription_session.created" => ServerEvent::Session { updated: false },
        "transcription_session.updated" => ServerEvent::Session { updated: true },
        "input_audio_buffer.committed" => ServerEvent::Committed {
            item_id: item_id()?,
        },
        "error" => ServerEvent::Error(ApiError::from_value(&v["error"])),
        k if k.starts_with(ITEM) => match &k[ITEM.len()..] {
            // whisper-1 sends no deltas; gpt-4o models may send empty ones.
            "delta" => ServerEvent::Delta {
                item_id: item_id()?,
                delta: v["delta"].as_str().unwrap_or_default().to_owned(),
            },
            "completed" => ServerEvent::Completed {
                item_id: item_id()?,
                transcript: field(&v, "transcript", kind)?.trim().to_owned(),
            },
            "failed" => ServerEvent::Failed {
                item_id: item_id()?,
                error: ApiError::from_value(&v["error"]),
            },
            _ => ServerEvent::Other(kind.to_owned()),
        },
        other => ServerEvent::Other(other.to_owned()),
    })
}

/// The `text` of a `POST /v1/audio/transcriptions` answer
/// (`response_format=json`).
pub(crate) fn parse_rest(body: &str) -> Result<String, String> {
    let v: Value = serde_json::from_str(body).map_err(|e| format!("not JSON: {e}"))?;
    v["text"]
        .as_str()
        .map(|t| t.trim().to_owned())
        .ok_or_else(|| "a transcription without a string text".into())
}

/// The `error` object of an HTTP error body, if it has one.
pub(crate) fn parse_rest_error(body: &str) -> Option<ApiError> {
    let v: Value = serde_json::from_str(body).ok()?;
    v["error"]
        .is_object()
        .then(|| ApiError::from_value(&v["error"]))
}
