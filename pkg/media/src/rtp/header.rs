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
