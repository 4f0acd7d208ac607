//! The Wyoming events the adapters speak (`wyoming/asr.py`, `audio.py`,
//! `tts.py`, `error.py`), built and read over the framing in [`super::codec`].

use serde_json::{Value, json};

use super::codec::Event;

/// Bytes per sample we send and accept: 16-bit PCM.
const WIDTH: u64 = 2;

/// `transcribe`: what to expect, sent before the audio.
pub fn transcribe(language: &str, model: Option<&str>) -> Event {
    let event = Event::new("transcribe").with("language", language_code(language));
    match model {
        Some(name) => event.with("name", name),
        None => event,
    }
}

/// `audio-start` for mono 16-bit PCM at `rate`.
pub fn audio_start(rate: u32, timestamp_ms: u64) -> Event {
    format_event("audio-start", rate, timestamp_ms)
}

/// `audio-chunk` carrying `pcm` little-endian.
pub fn audio_chunk(rate: u32, timestamp_ms: u64, pcm: &[i16]) -> Event {
    let mut event = format_event("audio-chunk", rate, timestamp_ms);
    event.payload = pcm.iter().flat_map(|s| s.to_le_bytes()).collect();
    event
}

/// `audio-stop`: the end of the utterance; the server answers `transcript`.
pub fn audio_stop(timestamp_ms: u64) -> Event {
    Event::new("audio-stop").with("timestamp", timestamp_ms)
}

/// `synthesize`: speak `text`, with a voice name if one is set (a language
/// alone is not sent: `SynthesizeVoice.from_dict` would take it for a name).
pub fn synthesize(text: &str, voice: Option<&str>) -> Event {
    let event = Event::new("synthesize").with("text", text);
    match voice {
        Some(name) => event.with("voice", json!({ "name": name })),
        None => event,
    }
}

/// Whisper wants ISO 639-1 (`en`), not a BCP 47 tag (`en-US`).
fn language_code(tag: &str) -> &str {
    tag.split(['-', '_']).next().unwrap_or(tag)
}

fn format_event(kind: &str, rate: u32, timestamp_ms: u64) -> Event {
    Event::new(kind)
        .with("rate", rate)
        .with("width", WIDTH)
        .with("channels", 1)
        .with("timestamp", timestamp_ms)
}

/// A server event the adapters act on.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// `transcript`.
    Transcript(String),
    /// `audio-start` with the rate of what follows.
    AudioStart(u32),
    /// `audio-chunk`, decoded to mono samples, with its rate.
    AudioChunk(u32, Vec<i16>),
    /// `audio-stop`.
    AudioStop,
    /// `error`: its text and optional code.
    Error(String),
    /// Anything else (`info`, newer streaming events); ignored.
    Other(String),
}

/// Reads a server event; fails on a known event with missing or unusable
/// fields (a format other than mono 16-bit PCM, an odd payload).
pub fn parse(event: Event) -> Result<Incoming, String> {
    let text = |key: &str| match event.data.get(key) {
        Some(Value::String(s)) => Ok(s.clone()),
        _ => Err(format!("`{}` without a string `{key}`", event.kind)),
    };
    Ok(match event.kind.as_str() {
        "transcript" => Incoming::Transcript(text("text")?),
        "audio-start" => Incoming::AudioStart(format_of(&event)?),
        "audio-chunk" => {
            let rate = format_of(&event)?;
            if !event.payload.len().is_multiple_of(2) {
                return Err("audio-chunk with an odd number of bytes".into());
            }
            let pcm = event
                .payload
                .chunks_exact(2)
                .map(|b| i16::from_le_bytes([b[0], b[1]]))
                .collect();
            Incoming::AudioChunk(rate, pcm)
        }
        "audio-stop" => Incoming::AudioStop,
        "error" => {
            let code = event.data.get("code").and_then(Value::as_str);
            let message = text("text")?;
            Incoming::Error(match code {
                Some(code) => format!("{message} ({code})"),
                None => message,
            })
        }
        other => Incoming::Other(other.to_owned()),
    })
}

fn format_of(event: &Event) -> Result<u32, String> {
    let field = |key: &str| event.data.get(key).and_then(Value::as_u64);
    match (field("rate"), field("width"), field("channels")) {
        (Some(rate @ 1..=192_000), Some(WIDTH), Some(1)) => Ok(rate as u32),
        (rate, width, channels) => Err(format!(
            "`{}` format rate={rate:?} width={width:?} channels={channels:?}: \
             only mono 16-bit PCM is supported",
            event.kind
        )),
    }
}
