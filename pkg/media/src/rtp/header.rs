//! The fixed RTP header fields the rest of the media core works with.

/// The fields of an RTP fixed header that the media core acts on.
///
/// Shared vocabulary between the parser, the jitter buffer and the pacer: the
/// jitter buffer consumes it on the way in, the pacer produces it on the way out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RtpHeader {
    /// Marker bit: for audio, the first packet of a talkspurt.
    pub marker: bool,
    /// Payload type (7 bits), e.g. 0 = PCMU, 8 = PCMA.
    pub payload_type: u8,
    /// Sequence number, wraps at 2^16.
    pub sequence: u16,
    /// Media timestamp in clock-rate units, wraps at 2^32.
    pub timestamp: u32,
    /// Synchronisation source.
    pub ssrc: u32,
}

impl RtpHeader {
    /// Writes this header as a plain 12-byte RTP header (no padding, extension
    /// or CSRCs) followed by `payload` into `out`; returns the bytes written.
    ///
    /// The pacer's fast path: the common audio packet without building an
    /// [`RtpPacket`](super::RtpPacket) first.
    pub fn write_packet(
        &self,
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<usize, super::RtpBuildError> {
        super::RtpPacket::new(*self, payload).write_to(out)
    }
}
