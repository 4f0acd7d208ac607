//! Zero-copy RTP packet view and its parser.

use super::RtpHeader;

/// Length of the fixed RTP header (RFC 3550 §5.1).
pub const RTP_HEADER_LEN: usize = 12;

/// Why a datagram is not a well-formed RTP packet.
///
/// One variant per malformed case so the socket adapter can count causes
/// separately (a peer sending RTCP to the RTP port looks very different from a
/// truncated packet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RtpError {
    /// Fewer bytes than the 12-byte fixed header.
    #[error("RTP packet too short: {len} bytes, the fixed header needs 12")]
    TooShort {
        /// Bytes received.
        len: usize,
    },
    /// The version field is not 2.
    #[error("unsupported RTP version {version}, expected 2")]
    BadVersion {
        /// Version found in the first two bits.
        version: u8,
    },
    /// The CSRC count announces more identifiers than the packet holds.
    #[error("CSRC list of {count} entries needs {needed} bytes, packet has {len}")]
    CsrcOverflow {
        /// CSRC count from the header.
        count: u8,
        /// Bytes the fixed header plus CSRC list need.
        needed: usize,
        /// Bytes received.
        len: usize,
    },
    /// The X bit is set but the 4-byte extension header is cut off.
    #[error("extension header cut off: needs {needed} bytes, packet has {len}")]
    ExtensionHeaderTruncated {
        /// Bytes needed up to the end of the extension header.
        needed: usize,
        /// Bytes received.
        len: usize,
    },
    /// The extension length runs past the end of the packet.
    #[error("extension of {declared} bytes runs past the packet end ({available} bytes left)")]
    ExtensionOverflow {
        /// Extension data length announced (words × 4).
        declared: usize,
        /// Bytes left after the extension header.
        available: usize,
    },
    /// The P bit is set but the padding count (last byte) is zero, which RFC
    /// 3550 forbids since the count includes itself.
    #[error("padding bit set but padding length is 0")]
    ZeroPadding,
    /// The padding count is larger than what follows the headers.
    #[error("padding of {padding} bytes exceeds the {available} bytes after the headers")]
    PaddingOverflow {
        /// Padding count from the last byte.
        padding: u8,
        /// Bytes after the headers (payload + padding).
        available: usize,
    },
}

/// The CSRC list of a packet, borrowed in network byte order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Csrcs<'a>(&'a [u8]);

impl<'a> Csrcs<'a> {
    /// No contributing sources: what every packet the gateway sends carries.
    pub const EMPTY: Csrcs<'static> = Csrcs(&[]);

    /// Wraps raw CSRC bytes (big-endian u32s). `None` if the length is not a
    /// multiple of 4 or exceeds the 15 entries the 4-bit count can express.
    pub fn from_bytes(bytes: &'a [u8]) -> Option<Self> {
        (bytes.len().is_multiple_of(4) && bytes.len() <= 15 * 4).then_some(Csrcs(bytes))
    }

    /// Number of CSRC identifiers.
    pub fn len(&self) -> usize {
        self.0.len() / 4
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The raw bytes, as they appear on the wire.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// The identifiers in order.
    pub fn iter(&self) -> impl Iterator<Item = u32> + 'a {
        self.0
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
    }
}

/// An RTP header extension (RFC 3550 §5.3.1), borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpExtension<'a> {
    /// The 16-bit "defined by profile" field (0xBEDE for RFC 8285 one-byte headers).
    pub profile: u16,
    /// Extension data; its length is a multiple of 4.
    pub data: &'a [u8],
}

/// A parsed RTP packet borrowing from the datagram it came from.
///
/// The version is always 2 (anything else is rejected), so it is not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    /// Marker, payload type, sequence number, timestamp and SSRC.
    pub header: RtpHeader,
    /// Contributing sources (usually empty).
    pub csrcs: Csrcs<'a>,
    /// Header extension, when the X bit is set.
    pub extension: Option<RtpExtension<'a>>,
    /// The media payload, padding removed.
    pub payload: &'a [u8],
    /// Padding bytes at the end, including the count byte; 0 means the P bit is clear.
    pub padding: u8,
}

impl<'a> RtpPacket<'a> {
    /// A plain packet: no CSRCs, no extension, no padding.
    pub fn new(header: RtpHeader, payload: &'a [u8]) -> Self {
        RtpPacket {
            header,
            csrcs: Csrcs::EMPTY,
            extension: None,
            payload,
            padding: 0,
        }
    }

    /// Parses a datagram. Never panics: every length is checked before use.
    pub fn parse(buf: &'a [u8]) -> Result<Self, RtpError> {
        let len = buf.len();
        if len < RTP_HEADER_LEN {
            return Err(RtpError::TooShort { len });
        }
        let version = buf[0] >> 6;
        if version != 2 {
            return Err(RtpError::BadVersion { version });
        }
        let has_padding = buf[0] & 0x20 != 0;
        let has_extension = buf[0] & 0x10 != 0;
        let count = buf[0] & 0x0f;
        let header = RtpHeader {
            marker: buf[1] & 0x80 != 0,
            payload_type: buf[1] & 0x7f,
            sequence: u16::from_be_bytes([buf[2], buf[3]]),
            timestamp: u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]),
            ssrc: u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]),
        };

        let mut pos = RTP_HEADER_LEN + 4 * usize::from(count);
        if pos > len {
            return Err(RtpError::CsrcOverflow {
                count,
                needed: pos,
                len,
            });
        }
        let csrcs = Csrcs(&buf[RTP_HEADER_LEN..pos]);

        let extension = if has_extension {
            if pos + 4 > len {
                return Err(RtpError::ExtensionHeaderTruncated {
                    needed: pos + 4,
                    len,
                });
            }
            let profile = u16::from_be_bytes([buf[pos], buf[pos + 1]]);
            let declared = 4 * usize::from(u16::from_be_bytes([buf[pos + 2], buf[pos + 3]]));
            pos += 4;
            let available = len - pos;
            if declared > available {
                return Err(RtpError::ExtensionOverflow {
                    declared,
                    available,
                });
            }
            let data = &buf[pos..pos + declared];
            pos += declared;
            Some(RtpExtension { profile, data })
        } else {
            None
        };

        let available = len - pos;
        let padding = if has_padding {
            // RFC 3550 §5.1: the count is the packet's last octet and includes itself.
            let padding = buf[len - 1];
            if padding == 0 {
                return Err(RtpError::ZeroPadding);
            }
            if usize::from(padding) > available {
                return Err(RtpError::PaddingOverflow { padding, available });
            }
            padding
        } else {
            0
        };
        let payload = &buf[pos..len - usize::from(padding)];
        Ok(RtpPacket {
            header,
            csrcs,
            extension,
            payload,
            padding,
        })
    }

    /// Length of the serialized packet.
    pub fn wire_len(&self) -> usize {
        RTP_HEADER_LEN
            + self.csrcs.as_bytes().len()
            + self.extension.map_or(0, |e| 4 + e.data.len())
            + self.payload.len()
            + usize::from(self.padding)
    }
}
