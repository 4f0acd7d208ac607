//! G.711 A-law (PCMA, static payload type 8, 8 kHz).

use super::g711::{ALAW_TO_LINEAR, alaw_encode};
use super::{Codec, CodecError, ensure_room};

/// G.711 A-law: one byte per sample, stateless, table-driven.
#[derive(Debug, Clone, Copy, Default)]
pub struct Pcma;

impl Pcma {
    /// RTP static payload type for PCMA (RFC 3551).
    pub const PAYLOAD_TYPE: u8 = 8;

    /// An A-law codec.
    pub fn new() -> Self {
        Pcma
    }
}

impl Codec for Pcma {
    fn payload_type(&self) -> u8 {
        Self::PAYLOAD_TYPE
    }

    fn clock_rate(&self) -> u32 {
        8000
    }

    fn decode(&mut self, payload: &[u8], out: &mut [i16]) -> Result<usize, CodecError> {
        ensure_room(payload.len(), out.len())?;
        for (o, &c) in out.iter_mut().zip(payload) {
            *o = ALAW_TO_LINEAR[usize::from(c)];
        }
        Ok(payload.len())
    }

    fn encode(&mut self, pcm: &[i16], out: &mut [u8]) -> Result<usize, CodecError> {
        ensure_room(pcm.len(), out.len())?;
        for (o, &x) in out.iter_mut().zip(pcm) {
            *o = alaw_encode(x);
        }
        Ok(pcm.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_round_trip_and_metadata() {
        let mut c = Pcma::new();
        assert_eq!(
            (c.payload_type(), c.clock_rate(), c.samples_per_frame()),
            (8, 8000, 160)
        );
        let pcm: Vec<i16> = (0..160).map(|i| (16000 - i * 200) as i16).collect();
        let mut enc = [0u8; 160];
        assert_eq!(c.encode(&pcm, &mut enc), Ok(160));
        let mut dec = [0i16; 160];
        assert_eq!(c.decode(&enc, &mut dec), Ok(160));
        for (a, b) in pcm.iter().zip(&dec) {
            assert!((i32::from(*a) - i32::from(*b)).abs() <= i32::from(a.unsigned_abs() / 16) + 8);
        }
    }

    #[test]
    fn fixture_14_alaw_agrees_with_the_slin_capture_of_the_same_tone() {
        // ari-fixtures/14 records the same phone tone in every format. The alaw
        // capture starts "d54d...", the slin one "0000fe74" (big-endian 0, -396):
        // both are silence then a small negative first sample.
        let mut out = [0i16; 2];
        Pcma.decode(&[0xd5, 0x4d], &mut out).unwrap();
        assert_eq!(out[0], 8); // A-law has no zero code; 0xd5 is the smallest positive level
        assert!((out[1] - (-396)).abs() <= 8, "{out:?}"); // within half an A-law step
    }
}
