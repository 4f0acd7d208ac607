//! G.711 µ-law (PCMU, static payload type 0, 8 kHz).

use super::g711::{ULAW_TO_LINEAR, ulaw_encode};
use super::{Codec, CodecError, ensure_room};

/// G.711 µ-law: one byte per sample, stateless, table-driven.
#[derive(Debug, Clone, Copy, Default)]
pub struct Pcmu;

impl Pcmu {
    /// RTP static payload type for PCMU (RFC 3551).
    pub const PAYLOAD_TYPE: u8 = 0;

    /// A µ-law codec.
    pub fn new() -> Self {
        Pcmu
    }
}

impl Codec for Pcmu {
    fn payload_type(&self) -> u8 {
        Self::PAYLOAD_TYPE
    }

    fn clock_rate(&self) -> u32 {
        8000
    }

    fn decode(&mut self, payload: &[u8], out: &mut [i16]) -> Result<usize, CodecError> {
        ensure_room(payload.len(), out.len())?;
        for (o, &c) in out.iter_mut().zip(payload) {
            *o = ULAW_TO_LINEAR[usize::from(c)];
        }
        Ok(payload.len())
    }

    fn encode(&mut self, pcm: &[i16], out: &mut [u8]) -> Result<usize, CodecError> {
        ensure_room(pcm.len(), out.len())?;
        for (o, &x) in out.iter_mut().zip(pcm) {
            *o = ulaw_encode(x);
        }
        Ok(pcm.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_round_trip_and_metadata() {
        let mut c = Pcmu::new();
        assert_eq!((c.payload_type(), c.clock_rate()), (0, 8000));
        assert_eq!((c.samples_per_frame(), c.timestamp_step()), (160, 160));
        let pcm: Vec<i16> = (0..160).map(|i| (i * 200 - 16000) as i16).collect();
        let mut enc = [0u8; 160];
        assert_eq!(c.encode(&pcm, &mut enc), Ok(160));
        let mut dec = [0i16; 160];
        assert_eq!(c.decode(&enc, &mut dec), Ok(160));
        for (a, b) in pcm.iter().zip(&dec) {
            assert!((i32::from(*a) - i32::from(*b)).abs() <= i32::from(a.unsigned_abs() / 16) + 8);
        }
    }

    #[test]
    fn asterisk_silence_byte_decodes_to_zero() {
        // ari-fixtures/11: softmix streams are "mostly 0xFF silence".
        let mut out = [1i16; 160];
        Pcmu.decode(&[0xff; 160], &mut out).unwrap();
        assert!(out.iter().all(|&s| s == 0));
    }

    #[test]
    fn small_output_is_an_error() {
        let mut out = [0i16; 10];
        assert_eq!(
            Pcmu.decode(&[0; 160], &mut out),
            Err(CodecError::OutputTooSmall {
                needed: 160,
                available: 10
            })
        );
        let mut bytes = [0u8; 10];
        assert!(Pcmu.encode(&[0; 160], &mut bytes).is_err());
    }
}
