//! Audio codecs behind one [`Codec`] trait: G.711 µ-law ([`Pcmu`]) and A-law
//! ([`Pcma`]), linear 16-bit PCM ([`L16`]) and Opus ([`Opus`]).
//!
//! Every codec encodes and decodes one frame per call into caller-provided
//! buffers, so the per-frame path never allocates. PCM is always native
//! `i16`, mono.

mod g711;
mod l16;
mod opus;
mod pcma;
mod pcmu;

pub use l16::{ByteOrder, L16};
pub use opus::{Opus, OpusApplication};
pub use pcma::Pcma;
pub use pcmu::Pcmu;

/// Why a frame could not be encoded or decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// The output buffer cannot hold the result.
    #[error("output buffer holds {available}, the frame needs {needed}")]
    OutputTooSmall {
        /// Samples or bytes the result needs.
        needed: usize,
        /// Samples or bytes the buffer holds.
        available: usize,
    },
    /// The payload length is impossible for this codec (e.g. odd for L16).
    #[error("payload of {len} bytes is not a whole number of samples")]
    BadPayloadLength {
        /// Payload length in bytes.
        len: usize,
    },
    /// The sample rate is not one this codec supports.
    #[error("sample rate {0} Hz is not supported by this codec")]
    UnsupportedRate(u32),
    /// The PCM frame length is not one this codec can encode (Opus needs
    /// 2.5, 5, 10, 20, 40 or 60 ms).
    #[error("frame of {0} samples cannot be encoded")]
    BadFrameLength(usize),
    /// libopus reported an error.
    #[error("opus: {function} failed: {code:?}")]
    Opus {
        /// The libopus function that failed.
        function: &'static str,
        /// libopus's error code.
        code: ::opus::ErrorCode,
    },
}

impl From<::opus::Error> for CodecError {
    fn from(e: ::opus::Error) -> Self {
        CodecError::Opus {
            function: e.function(),
            code: e.code(),
        }
    }
}

/// One audio codec instance (stateful for Opus, stateless for G.711/L16).
///
/// `decode` and `encode` work on one RTP payload / one PCM frame at a time,
/// write into the buffers given and return how many samples or bytes they
/// wrote. They never allocate.
pub trait Codec {
    /// RTP payload type this instance sends and expects.
    fn payload_type(&self) -> u8;

    /// RTP clock rate (timestamp units per second). For Opus this is always
    /// 48 000 (RFC 7587), whatever the PCM rate.
    fn clock_rate(&self) -> u32;

    /// Sample rate of the PCM this instance produces and consumes.
    fn sample_rate(&self) -> u32 {
        self.clock_rate()
    }

    /// PCM samples in one 20 ms frame at [`Codec::sample_rate`].
    fn samples_per_frame(&self) -> usize {
        self.sample_rate() as usize / 50
    }

    /// RTP timestamp increment for one 20 ms frame.
    fn timestamp_step(&self) -> u32 {
        self.clock_rate() / 50
    }

    /// Decodes one payload into `out`; returns the samples written.
    fn decode(&mut self, payload: &[u8], out: &mut [i16]) -> Result<usize, CodecError>;

    /// Encodes one frame of PCM into `out`; returns the bytes written.
    fn encode(&mut self, pcm: &[i16], out: &mut [u8]) -> Result<usize, CodecError>;
}

/// Checks that `available` can hold `needed`.
fn ensure_room(needed: usize, available: usize) -> Result<(), CodecError> {
    if available < needed {
        Err(CodecError::OutputTooSmall { needed, available })
    } else {
        Ok(())
    }
}
