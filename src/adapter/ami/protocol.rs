//! The manager protocol's wire format: `Key: value\r\n` lines, a packet ended
//! by a blank line. Parsing is incremental and bounded: a server that never
//! ends a line or a packet makes the reader fail, not grow.

use std::fmt::Write as _;

/// Longest line accepted (a header with its value).
pub const MAX_LINE: usize = 8 * 1024;
/// Most headers in one packet.
pub const MAX_HEADERS: usize = 128;
/// Largest packet accepted, header lines together.
pub const MAX_PACKET: usize = 64 * 1024;

/// What the server sent that is not the manager protocol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// A line longer than [`MAX_LINE`].
    #[error("a line longer than {MAX_LINE} bytes")]
    LineTooLong,
    /// A packet with more than [`MAX_HEADERS`] headers.
    #[error("a packet with more than {MAX_HEADERS} headers")]
    TooManyHeaders,
    /// A packet larger than [`MAX_PACKET`].
    #[error("a packet larger than {MAX_PACKET} bytes")]
    PacketTooLarge,
    /// A line that is not `Key: value`.
    #[error("a line that is not `Key: value`: {0:?}")]
    MalformedLine(String),
    /// The first line is not `Asterisk Call Manager/x.y`.
    #[error("not an Asterisk manager: it greeted with {0:?}")]
    NotAManager(String),
}

/// One packet: its headers in order (a key may repeat).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Packet {
    /// `(key, value)`, the value without its leading space.
    pub headers: Vec<(String, String)>,
}

impl Packet {
    /// The first value of `key` (keys compare case-insensitively, as Asterisk does).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }
}

/// Bytes in, lines and packets out.
#[derive(Debug, Default)]
pub struct PacketReader {
    buf: Vec<u8>,
    partial: Packet,
    partial_bytes: usize,
}

impl PacketReader {
    /// Appends what was read. Callers read again only after
    /// [`next_packet`](Self::next_packet) returned `None`, so the buffer stays
    /// below [`MAX_LINE`] plus one read.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete line without its `\r\n` (a bare `\n` is accepted).
    pub fn next_line(&mut self) -> Result<Option<String>, ProtocolError> {
        let Some(end) = self.buf.iter().position(|&b| b == b'\n') else {
            return if self.buf.len() > MAX_LINE {
                Err(ProtocolError::LineTooLong)
            } else {
                Ok(None)
            };
        };
        if end > MAX_LINE {
            return Err(ProtocolError::LineTooLong);
        }
        let mut line: Vec<u8> = self.buf.drain(..=end).collect();
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        Ok(Some(String::from_utf8_lossy(&line).into_owned()))
    }

    /// The next complete packet. Blank lines between packets are skipped.
    pub fn next_packet(&mut self) -> Result<Option<Packet>, ProtocolError> {
        while let Some(line) = self.next_line()? {
            if line.is_empty() {
                if self.partial.headers.is_empty() {
                    continue;
                }
                self.partial_bytes = 0;
                return Ok(Some(std::mem::take(&mut self.partial)));
            }
            self.partial_bytes += line.len() + 2;
            if self.partial_bytes > MAX_PACKET {
                return Err(ProtocolError::PacketTooLarge);
            }
            if self.partial.headers.len() >= MAX_HEADERS {
                return Err(ProtocolError::TooManyHeaders);
            }
            let Some((key, value)) = line.split_once(':') else {
                return Err(ProtocolError::MalformedLine(shorten(&line)));
            };
            let key = key.trim();
            if key.is_empty() {
                return Err(ProtocolError::MalformedLine(shorten(&line)));
            }
            let value = value.strip_prefix(' ').unwrap_or(value);
            self.partial
                .headers
                .push((key.to_owned(), value.to_owned()));
        }
        Ok(None)
    }
}

fn shorten(line: &str) -> String {
    line.chars().take(80).collect()
}

/// Checks the greeting line.
pub fn check_banner(line: &str) -> Result<(), ProtocolError> {
    if line.starts_with("Asterisk Call Manager/") {
        Ok(())
    } else {
        Err(ProtocolError::NotAManager(shorten(line)))
    }
}

/// A value that cannot go into a header, found before anything was sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct InvalidValue {
    /// Which header.
    pub field: &'static str,
    /// Why.
    pub reason: &'static str,
}

/// Encodes an action. Every value is checked: a `\r` or `\n` would end the
/// header early and let the rest be read as headers of the caller's choosing
/// (another `Action`, a `Variable`), so such values are refused, not escaped.
pub fn encode(action: &str, headers: &[(&'static str, &str)]) -> Result<String, InvalidValue> {
    let mut out = String::with_capacity(64 + headers.len() * 32);
    let _ = write!(out, "Action: {action}\r\n");
    for (key, value) in headers {
        if value.contains(['\r', '\n']) {
            return Err(InvalidValue {
                field: key,
                reason: "contains a line break",
            });
        }
        if value.contains('\0') {
            return Err(InvalidValue {
                field: key,
                reason: "contains a NUL byte",
            });
        }
        if value.len() > MAX_LINE - key.len() - 4 {
            return Err(InvalidValue {
                field: key,
                reason: "is too long",
            });
        }
        let _ = write!(out, "{key}: {value}\r\n");
    }
    out.push_str("\r\n");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packets(bytes: &[u8], chunk: usize) -> Result<Vec<Packet>, ProtocolError> {
        let mut r = PacketReader::default();
        let mut out = Vec::new();
        for c in bytes.chunks(chunk.max(1)) {
            r.feed(c);
            while let Some(p) = r.next_packet()? {
                out.push(p);
            }
        }
        Ok(out)
    }

    #[test]
    fn packets_split_anywhere_read_the_same() {
        let wire = b"Response: Success\r\nActionID: 1\r\nMessage: Authentication accepted\r\n\r\n\
                     Response: Error\r\nActionID: 2\r\nMessage: No such channel\r\n\r\n";
        let whole = packets(wire, wire.len()).unwrap();
        assert_eq!(whole.len(), 2);
        assert_eq!(whole[0].get("message"), Some("Authentication accepted"));
        assert_eq!(whole[1].get("ACTIONID"), Some("2"));
        for chunk in 1..wire.len() {
            assert_eq!(packets(wire, chunk).unwrap(), whole, "chunk {chunk}");
        }
    }

    #[test]
    fn bounds_and_malformed_lines_are_errors() {
        let long = vec![b'a'; MAX_LINE + 2];
        assert_eq!(packets(&long, 4096), Err(ProtocolError::LineTooLong));
        let mut many = String::new();
        for i in 0..=MAX_HEADERS {
            many.push_str(&format!("K{i}: v\r\n"));
        }
        assert_eq!(
            packets(many.as_bytes(), 4096),
            Err(ProtocolError::TooManyHeaders)
        );
        let big = format!("K: {}\r\n", "v".repeat(MAX_LINE - 10)).repeat(9);
        assert_eq!(
            packets(big.as_bytes(), 4096),
            Err(ProtocolError::PacketTooLarge)
        );
        assert!(matches!(
            packets(b"no colon here\r\n\r\n", 3),
            Err(ProtocolError::MalformedLine(_))
        ));
    }

    /// Arbitrary bytes, in arbitrary chunks, never panic, and the buffer never
    /// holds more than a line's bound plus one read.
    #[test]
    fn arbitrary_bytes_never_panic_and_stay_bounded() {
        // xorshift: reproducible without a dependency; the seed is in the failure.
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let alphabet = b"\r\n: ActionIDResponse\x00\xff";
        for case in 0..3000 {
            let len = (next() % 40_000) as usize;
            let skewed = case % 2 == 0;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    let r = next();
                    let b = if skewed {
                        alphabet[(r % alphabet.len() as u64) as usize]
                    } else {
                        r as u8
                    };
                    // A third of the cases never end a line: the bound must hold.
                    if case % 3 == 2 && b == b'\n' { b'x' } else { b }
                })
                .collect();
            let mut r = PacketReader::default();
            let mut at = 0;
            'feed: while at < bytes.len() {
                let n = ((next() % 4096) as usize + 1).min(bytes.len() - at);
                r.feed(&bytes[at..at + n]);
                at += n;
                loop {
                    match r.next_packet() {
                        Ok(Some(p)) => {
                            assert!(!p.headers.is_empty() && p.headers.len() <= MAX_HEADERS)
                        }
                        Ok(None) => break,
                        Err(_) => break 'feed,
                    }
                }
                assert!(r.buf.len() <= MAX_LINE + 4096, "case {case}");
            }
            let _ = check_banner(&String::from_utf8_lossy(&bytes));
        }
    }

    #[test]
    fn line_breaks_in_values_are_refused() {
        for bad in ["x\r\nAction: Originate", "x\nEvents: on", "x\r", "a\0b"] {
            let e = encode("Hangup", &[("Channel", bad)]).unwrap_err();
            assert_eq!(e.field, "Channel", "{bad:?}");
        }
        assert_eq!(
            encode("Hangup", &[("Channel", "PJSIP/a-1"), ("Cause", "16")]).unwrap(),
            "Action: Hangup\r\nChannel: PJSIP/a-1\r\nCause: 16\r\n\r\n"
        );
    }

    #[test]
    fn the_banner_is_checked() {
        assert!(check_banner("Asterisk Call Manager/9.0.0").is_ok());
        assert!(check_banner("HTTP/1.1 400 Bad Request").is_err());
    }
}
