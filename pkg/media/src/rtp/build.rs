//! Serializing an [`RtpPacket`] into a caller-provided buffer.

use super::{RTP_HEADER_LEN, RtpPacket};

/// Why a packet could not be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RtpBuildError {
    /// The output buffer is smaller than the packet.
    #[error("output buffer of {available} bytes, packet needs {needed}")]
    BufferTooSmall {
        /// Bytes the packet needs.
        needed: usize,
        /// Bytes the buffer has.
        available: usize,
    },
    /// The payload type does not fit in 7 bits.
    #[error("payload type {0} does not fit in 7 bits")]
    PayloadType(u8),
    /// Extension data must be whole 32-bit words and at most 65535 of them.
    #[error("extension data of {0} bytes is not a whole number of words (max 65535)")]
    ExtensionLength(usize),
}

impl RtpPacket<'_> {
    /// Writes the packet into `out` and returns its length. Never allocates.
    ///
    /// Padding bytes are zero except the last, which holds the count (RFC 3550 §5.1).
    pub fn write_to(&self, out: &mut [u8]) -> Result<usize, RtpBuildError> {
        let h = &self.header;
        if h.payload_type > 0x7f {
            return Err(RtpBuildError::PayloadType(h.payload_type));
        }
        if let Some(ext) = self.extension
            && (!ext.data.len().is_multiple_of(4) || ext.data.len() / 4 > usize::from(u16::MAX))
        {
            return Err(RtpBuildError::ExtensionLength(ext.data.len()));
        }
        let needed = self.wire_len();
        if out.len() < needed {
            return Err(RtpBuildError::BufferTooSmall {
                needed,
                available: out.len(),
            });
        }
        // Csrcs can only be built with at most 15 entries, so the count fits.
        let count = (self.csrcs.len() & 0x0f) as u8;
        out[0] = 0x80
            | if self.padding > 0 { 0x20 } else { 0 }
            | if self.extension.is_some() { 0x10 } else { 0 }
            | count;
        out[1] = if h.marker { 0x80 } else { 0 } | h.payload_type;
        out[2..4].copy_from_slice(&h.sequence.to_be_bytes());
        out[4..8].copy_from_slice(&h.timestamp.to_be_bytes());
        out[8..12].copy_from_slice(&h.ssrc.to_be_bytes());
        let mut pos = RTP_HEADER_LEN;
        let csrc = self.csrcs.as_bytes();
        out[pos..pos + csrc.len()].copy_from_slice(csrc);
        pos += csrc.len();
        if let Some(ext) = self.extension {
            out[pos..pos + 2].copy_from_slice(&ext.profile.to_be_bytes());
            // Checked above: at most u16::MAX words.
            let words = (ext.data.len() / 4) as u16;
            out[pos + 2..pos + 4].copy_from_slice(&words.to_be_bytes());
            pos += 4;
            out[pos..pos + ext.data.len()].copy_from_slice(ext.data);
            pos += ext.data.len();
        }
        out[pos..pos + self.payload.len()].copy_from_slice(self.payload);
        pos += self.payload.len();
        if self.padding > 0 {
            let end = pos + usize::from(self.padding);
            out[pos..end - 1].fill(0);
            out[end - 1] = self.padding;
            pos = end;
        }
        Ok(pos)
    }
}
