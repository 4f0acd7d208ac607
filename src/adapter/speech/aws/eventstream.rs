//! The `application/vnd.amazon.eventstream` framing Transcribe streaming
//! speaks in both directions (AWS Transcribe developer guide, "Setting up a
//! streaming transcription: event stream encoding").
//!
//! A message is a 12-byte prelude (total length, headers length, both u32
//! big-endian, then the CRC32 of those 8 bytes), the headers, the payload and
//! the CRC32 of everything before it. A header is a name (u8 length + bytes),
//! a type byte and a value; only the types this gateway meets are decoded as
//! values, the others are skipped with their documented sizes.

/// Longest message accepted (the service's own limit is 16 MiB).
pub const MAX_MESSAGE: usize = 16 * 1024 * 1024;
const PRELUDE: usize = 12;
const MIN_MESSAGE: usize = PRELUDE + 4;

/// A header value of the types the gateway writes or reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Type 7: UTF-8 text.
    String(String),
    /// Type 6: raw bytes.
    Bytes(Vec<u8>),
    /// Type 8: milliseconds since the Unix epoch.
    Timestamp(i64),
    /// Any other type (bool, integers, UUID), kept as its type byte.
    Other(u8),
}

/// One decoded message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    /// Headers in wire order.
    pub headers: Vec<(String, Value)>,
    /// The payload.
    pub payload: Vec<u8>,
}

impl Message {
    /// The string header `name`, if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find_map(|(n, v)| match v {
            Value::String(s) if n == name => Some(s.as_str()),
            _ => None,
        })
    }

    /// Encodes the message.
    pub fn encode(&self) -> Vec<u8> {
        let headers = encode_headers(&self.headers);
        let total = PRELUDE + headers.len() + self.payload.len() + 4;
        let mut out = Vec::with_capacity(total);
        out.extend_from_slice(&(total as u32).to_be_bytes());
        out.extend_from_slice(&(headers.len() as u32).to_be_bytes());
        let prelude_crc = crc32fast::hash(&out);
        out.extend_from_slice(&prelude_crc.to_be_bytes());
        out.extend_from_slice(&headers);
        out.extend_from_slice(&self.payload);
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_be_bytes());
        out
    }
}

/// Headers in their wire form (also what `:date` is hashed as when signing).
pub fn encode_headers(headers: &[(String, Value)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in headers {
        out.push(name.len() as u8);
        out.extend_from_slice(name.as_bytes());
        match value {
            Value::String(s) => put_sized(&mut out, 7, s.as_bytes()),
            Value::Bytes(b) => put_sized(&mut out, 6, b),
            Value::Timestamp(ms) => {
                out.push(8);
                out.extend_from_slice(&ms.to_be_bytes());
            }
            // Not written by the gateway; a bool `true` keeps the encoding valid.
            Value::Other(_) => out.push(0),
        }
    }
    out
}

fn put_sized(out: &mut Vec<u8>, kind: u8, bytes: &[u8]) {
    out.push(kind);
    out.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// Why a byte stream is not an event stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("event stream message of {0} bytes is out of bounds")]
    Length(usize),
    #[error("event stream prelude CRC mismatch")]
    PreludeCrc,
    #[error("event stream message CRC mismatch")]
    MessageCrc,
    #[error("event stream headers malformed: {0}")]
    Headers(&'static str),
}

/// Splits a byte stream into messages: feed it what arrives, take whole ones.
#[derive(Debug, Default)]
pub struct Decoder {
    buffer: Vec<u8>,
}

impl Decoder {
    /// Appends received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// Bytes held that do not yet form a message.
    pub fn pending(&self) -> usize {
        self.buffer.len()
    }

    /// The next whole message, `Ok(None)` when more bytes are needed. After
    /// an error the stream cannot be resynchronised.
    pub fn next_message(&mut self) -> Result<Option<Message>, FrameError> {
        if self.buffer.len() < PRELUDE {
            return Ok(None);
        }
        let total = be32(&self.buffer[0..4]) as usize;
        let headers_len = be32(&self.buffer[4..8]) as usize;
        if crc32fast::hash(&self.buffer[0..8]) != be32(&self.buffer[8..12]) {
            return Err(FrameError::PreludeCrc);
        }
        if !(MIN_MESSAGE..=MAX_MESSAGE).contains(&total) || headers_len > total - MIN_MESSAGE {
            return Err(FrameError::Length(total));
        }
        if self.buffer.len() < total {
            return Ok(None);
        }
        let frame: Vec<u8> = self.buffer.drain(..total).collect();
        if crc32fast::hash(&frame[..total - 4]) != be32(&frame[total - 4..]) {
            return Err(FrameError::MessageCrc);
        }
        let headers = decode_headers(&frame[PRELUDE..PRELUDE + headers_len])?;
        let payload = frame[PRELUDE + headers_len..total - 4].to_vec();
        Ok(Some(Message { headers, payload }))
    }
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// Decodes a header block; every length is checked against what is left.
pub fn decode_headers(mut rest: &[u8]) -> Result<Vec<(String, Value)>, FrameError> {
    let mut headers = Vec::new();
    while !rest.is_empty() {
        let name_len = usize::from(rest[0]);
        let name = take(&mut rest, 1 + name_len, "header name")?;
        let name = std::str::from_utf8(&name[1..])
            .map_err(|_| FrameError::Headers("header name is not UTF-8"))?
            .to_owned();
        let kind = take(&mut rest, 1, "header type")?[0];
        let value = match kind {
            0 | 1 => Value::Other(kind),
            2 => skip(&mut rest, 1, kind)?,
            3 => skip(&mut rest, 2, kind)?,
            4 => skip(&mut rest, 4, kind)?,
            5 => skip(&mut rest, 8, kind)?,
            9 => skip(&mut rest, 16, kind)?,
            8 => {
                let b = take(&mut rest, 8, "timestamp")?;
                Value::Timestamp(i64::from_be_bytes(b.try_into().expect("8 bytes")))
            }
            6 | 7 => {
                let len = take(&mut rest, 2, "value length")?;
                let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
                let bytes = take(&mut rest, len, "value")?.to_vec();
                if kind == 6 {
                    Value::Bytes(bytes)
                } else {
                    let s = String::from_utf8(bytes)
                        .map_err(|_| FrameError::Headers("string value is not UTF-8"))?;
                    Value::String(s)
                }
            }
            _ => return Err(FrameError::Headers("unknown header value type")),
        };
        headers.push((name, value));
    }
    Ok(headers)
}

fn take<'a>(rest: &mut &'a [u8], n: usize, what: &'static str) -> Result<&'a [u8], FrameError> {
    if rest.len() < n {
        return Err(FrameError::Headers(what));
    }
    let (head, tail) = rest.split_at(n);
    *rest = tail;
    Ok(head)
}

fn skip(rest: &mut &[u8], n: usize, kind: u8) -> Result<Value, FrameError> {
    take(rest, n, "fixed-size value")?;
    Ok(Value::Other(kind))
}
