//! Wyoming framing, sans-IO: bytes in, events out, and back.
//!
//! An event on the wire is one JSON header line
//! (`{"type": …, "version": …, "data_length": n?, "payload_length": m?}\n`),
//! then `n` bytes of JSON object (the event's data, merged over any `data`
//! in the header), then `m` bytes of binary payload (PCM for audio chunks).
//! The decoder bounds every part before buffering it, so a peer cannot make
//! it allocate more than [`Limits`] allow, and never panics on any input.

use serde_json::{Map, Value};

/// The protocol version we announce (the `wyoming` package's at the time of
/// writing); peers do not check it.
pub const VERSION: &str = "1.5.4";

/// One Wyoming event.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Event {
    /// `transcribe`, `audio-chunk`, `synthesize`, ….
    pub kind: String,
    /// The event's fields.
    pub data: Map<String, Value>,
    /// Binary payload (empty when absent).
    pub payload: Vec<u8>,
}

impl Event {
    /// An event with no data and no payload.
    pub fn new(kind: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            ..Self::default()
        }
    }

    /// Adds a data field.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.data.insert(key.to_owned(), value.into());
        self
    }
}

/// Size bounds for decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest header line, newline included.
    pub header: usize,
    /// Largest data block.
    pub data: usize,
    /// Largest payload.
    pub payload: usize,
}

impl Default for Limits {
    fn default() -> Self {
        // Audio chunks are a few KiB; 1 MiB is several seconds of 24 kHz PCM,
        // far above what any server sends in one chunk.
        Self {
            header: 16 * 1024,
            data: 256 * 1024,
            payload: 1024 * 1024,
        }
    }
}

/// Why bytes could not be decoded. The connection cannot be resynchronised
/// after any of these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// No newline within the header bound.
    #[error("wyoming header line longer than {limit} bytes")]
    HeaderTooLong {
        /// The bound.
        limit: usize,
    },
    /// The header line is not a JSON object of the expected shape.
    #[error("wyoming header malformed: {0}")]
    BadHeader(String),
    /// A declared length exceeds its bound.
    #[error("wyoming {what} of {len} bytes exceeds {limit}")]
    TooLarge {
        /// `data` or `payload`.
        what: &'static str,
        /// The declared length.
        len: u64,
        /// The bound.
        limit: usize,
    },
    /// The data block is not a JSON object.
    #[error("wyoming data block malformed: {0}")]
    BadData(String),
}

/// Turns a byte stream into events.
#[derive(Debug, Default)]
pub struct Decoder {
    limits: Limits,
    buf: Vec<u8>,
}

impl Decoder {
    /// A decoder with these bounds.
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            buf: Vec::new(),
        }
    }

    /// Appends bytes read from the peer.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete event, `None` if more bytes are needed.
    pub fn next_event(&mut self) -> Result<Option<Event>, FrameError> {
        let limit = self.limits.header;
        let Some(nl) = self.buf.iter().take(limit).position(|&b| b == b'\n') else {
            return match self.buf.len() >= limit {
                true => Err(FrameError::HeaderTooLong { limit }),
                false => Ok(None),
            };
        };
        let header: Map<String, Value> = serde_json::from_slice(&self.buf[..nl])
            .map_err(|e| FrameError::BadHeader(e.to_string()))?;
        let kind = match header.get("type") {
            Some(Value::String(s)) => s.clone(),
            _ => return Err(FrameError::BadHeader("no string `type`".into())),
        };
        let data_len = length(&header, "data_length", "data", self.limits.data)?;
        let payload_len = length(&header, "payload_length", "payload", self.limits.payload)?;
        let total = nl + 1 + data_len + payload_len;
        if self.buf.len() < total {
            return Ok(None);
        }
        let mut data = match header.get("data") {
            Some(Value::Object(m)) => m.clone(),
            None | Some(Value::Null) => Map::new(),
            Some(_) => return Err(FrameError::BadHeader("`data` is not an object".into())),
        };
        let data_start = nl + 1;
        if data_len > 0 {
            let block: Map<String, Value> =
                serde_json::from_slice(&self.buf[data_start..data_start + data_len])
                    .map_err(|e| FrameError::BadData(e.to_string()))?;
            data.extend(block);
        }
        let payload = self.buf[data_start + data_len..total].to_vec();
        self.buf.drain(..total);
        Ok(Some(Event {
            kind,
            data,
            payload,
        }))
    }
}

fn length(
    header: &Map<String, Value>,
    key: &str,
    what: &'static str,
    limit: usize,
) -> Result<usize, FrameError> {
    match header.get(key) {
        None | Some(Value::Null) => Ok(0),
        Some(Value::Number(n)) => match n.as_u64() {
            Some(len) if len <= limit as u64 => Ok(len as usize),
            Some(len) => Err(FrameError::TooLarge { what, len, limit }),
            None => Err(FrameError::BadHeader(format!("`{key}` is not a length"))),
        },
        Some(_) => Err(FrameError::BadHeader(format!("`{key}` is not a number"))),
    }
}

/// Appends `event` in wire form to `out`, as the Python library writes it:
/// data in its own block, lengths in the header, zero lengths left out.
pub fn encode(event: &Event, out: &mut Vec<u8>) {
    let mut header = Map::new();
    header.insert("type".into(), Value::from(event.kind.as_str()));
    header.insert("version".into(), Value::from(VERSION));
    let data = (!event.data.is_empty()).then(|| Value::Object(event.data.clone()).to_string());
    if let Some(data) = &data {
        header.insert("data_length".into(), Value::from(data.len()));
    }
    if !event.payload.is_empty() {
        header.insert("payload_length".into(), Value::from(event.payload.len()));
    }
    out.extend_from_slice(Value::Object(header).to_string().as_bytes());
    out.push(b'\n');
    if let Some(data) = data {
        out.extend_from_slice(data.as_bytes());
    }
    out.extend_from_slice(&event.payload);
}
