//! Sans-IO framing of Azure Speech's WebSocket messages, both directions (the
//! adapter writes client messages and reads server ones; the fake does the
//! reverse).
//!
//! A text message is HTTP-like: `Name: value\r\n` header lines, an empty
//! line, then the body (JSON). A binary message starts with a big-endian
//! 16-bit length of the header block that follows (the same header lines,
//! without the empty line), then the body (audio). The headers every message
//! carries: `Path` (what it is), `X-RequestId` (the turn: 32 hex digits),
//! `X-Timestamp` (ISO 8601) and, with a body, `Content-Type`.

use std::fmt::Write as _;

/// One message: its headers, in order, and its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame<B> {
    /// `(name, value)` pairs as sent.
    pub headers: Vec<(String, String)>,
    /// Text (JSON) or bytes (audio).
    pub body: B,
}

impl<B> Frame<B> {
    /// The first header called `name` (case-insensitive), if any.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The `Path` header, lower-cased (the service sends `turn.start`, the
    /// SDK compares without case).
    pub fn path(&self) -> Option<String> {
        self.header("path").map(str::to_ascii_lowercase)
    }
}

fn header_block(headers: &[(&str, &str)]) -> String {
    let mut block = String::new();
    for (name, value) in headers {
        // Writing to a String cannot fail.
        let _ = write!(block, "{name}: {value}\r\n");
    }
    block
}

/// A text message.
pub fn encode_text(headers: &[(&str, &str)], body: &str) -> String {
    format!("{}\r\n{body}", header_block(headers))
}

/// A binary message; `None` if the headers exceed the 16-bit length.
pub fn encode_binary(headers: &[(&str, &str)], body: &[u8]) -> Option<Vec<u8>> {
    let block = header_block(headers);
    let len = u16::try_from(block.len()).ok()?;
    let mut out = Vec::with_capacity(2 + block.len() + body.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(block.as_bytes());
    out.extend_from_slice(body);
    Some(out)
}

fn parse_headers(block: &str) -> Result<Vec<(String, String)>, String> {
    block
        .split("\r\n")
        .filter(|line| !line.is_empty())
        .map(|line| {
            let (name, value) = line
                .split_once(':')
                .ok_or_else(|| format!("header line without a colon: {:?}", excerpt(line)))?;
            Ok((name.trim().to_owned(), value.trim().to_owned()))
        })
        .collect()
}

fn excerpt(s: &str) -> String {
    s.chars().take(60).collect()
}

/// Parses a text message; `Err` says what is wrong.
pub fn parse_text(message: &str) -> Result<Frame<String>, String> {
    let (block, body) = message
        .split_once("\r\n\r\n")
        .ok_or("a text message without the empty line after its headers")?;
    let headers = parse_headers(block)?;
    Ok(Frame {
        headers,
        body: body.to_owned(),
    })
}

/// Parses a binary message.
pub fn parse_binary(message: &[u8]) -> Result<Frame<Vec<u8>>, String> {
    let [hi, lo, rest @ ..] = message else {
        return Err("a binary message shorter than its length prefix".into());
    };
    let len = usize::from(u16::from_be_bytes([*hi, *lo]));
    if rest.len() < len {
        return Err(format!(
            "header length {len} exceeds the message ({} bytes)",
            rest.len()
        ));
    }
    let (block, body) = rest.split_at(len);
    let block = std::str::from_utf8(block).map_err(|_| "headers are not UTF-8".to_owned())?;
    Ok(Frame {
        headers: parse_headers(block)?,
        body: body.to_vec(),
    })
}

/// A new `X-RequestId` / `X-ConnectionId`: a UUID as 32 upper-case hex digits.
pub fn new_id() -> String {
    uuid::Uuid::new_v4()
        .simple()
        .to_string()
        .to_ascii_uppercase()
}

/// `X-Timestamp`: now, ISO 8601 with milliseconds.
pub fn timestamp() -> String {
    #[allow(clippy::disallowed_methods)] // an adapter: a header's wall-clock time
    let now = std::time::SystemTime::now();
    humantime::format_rfc3339_millis(now).to_string()
}

/// The audio encodings a turn's WAV header can announce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WavFormat {
    /// 16-bit little-endian linear PCM (`WAVE_FORMAT_PCM`, 1).
    Pcm16,
    /// G.711 µ-law, 8 bits a sample (`WAVE_FORMAT_MULAW`, 7).
    Mulaw,
}

/// The 44-byte RIFF/WAVE header that starts each turn's audio: mono at
/// `rate`, data length unknown (0, as the SDK sends for a stream).
pub fn wav_header(format: WavFormat, rate: u32) -> [u8; 44] {
    let (tag, bits): (u16, u16) = match format {
        WavFormat::Pcm16 => (1, 16),
        WavFormat::Mulaw => (7, 8),
    };
    let block_align = bits / 8;
    let mut h = [0u8; 44];
    h[0..4].copy_from_slice(b"RIFF");
    h[8..12].copy_from_slice(b"WAVE");
    h[12..16].copy_from_slice(b"fmt ");
    h[16..20].copy_from_slice(&16u32.to_le_bytes());
    h[20..22].copy_from_slice(&tag.to_le_bytes());
    h[22..24].copy_from_slice(&1u16.to_le_bytes());
    h[24..28].copy_from_slice(&rate.to_le_bytes());
    h[28..32].copy_from_slice(&(rate * u32::from(block_align)).to_le_bytes());
    h[32..34].copy_from_slice(&block_align.to_le_bytes());
    h[34..36].copy_from_slice(&bits.to_le_bytes());
    h[36..40].copy_from_slice(b"data");
    h
}

/// What a RIFF header announces: format and rate; `Err` if it is not one of ours.
pub fn parse_wav_header(bytes: &[u8]) -> Result<(WavFormat, u32), String> {
    let h = bytes.get(..44).ok_or("shorter than a WAV header")?;
    if &h[0..4] != b"RIFF" || &h[8..12] != b"WAVE" || &h[12..16] != b"fmt " {
        return Err("not a RIFF/WAVE header".into());
    }
    let u16_at = |i: usize| u16::from_le_bytes([h[i], h[i + 1]]);
    let rate = u32::from_le_bytes([h[24], h[25], h[26], h[27]]);
    let format = match (u16_at(20), u16_at(34)) {
        (1, 16) => WavFormat::Pcm16,
        (7, 8) => WavFormat::Mulaw,
        (tag, bits) => return Err(format!("format {tag} with {bits} bits is not supported")),
    };
    if u16_at(22) != 1 {
        return Err(format!("{} channels, expected mono", u16_at(22)));
    }
    Ok((format, rate))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_binary_round_trip() {
        let headers = [("Path", "speech.config"), ("X-RequestId", "AB")];
        let text = encode_text(&headers, "{}");
        assert_eq!(text, "Path: speech.config\r\nX-RequestId: AB\r\n\r\n{}");
        let frame = parse_text(&text).unwrap();
        assert_eq!(frame.path().as_deref(), Some("speech.config"));
        assert_eq!(frame.body, "{}");

        let bin = encode_binary(&[("Path", "audio")], &[1, 2, 3]).unwrap();
        assert_eq!(&bin[..2], &[0, 13]);
        let frame = parse_binary(&bin).unwrap();
        assert_eq!(frame.header("PATH"), Some("audio"));
        assert_eq!(frame.body, vec![1, 2, 3]);
    }

    #[test]
    fn wav_header_round_trips() {
        let h = wav_header(WavFormat::Pcm16, 8000);
        assert_eq!(parse_wav_header(&h), Ok((WavFormat::Pcm16, 8000)));
        assert_eq!(u32::from_le_bytes([h[28], h[29], h[30], h[31]]), 16000);
        let h = wav_header(WavFormat::Mulaw, 8000);
        assert_eq!(parse_wav_header(&h), Ok((WavFormat::Mulaw, 8000)));
    }
}
