//! Linear 16-bit PCM (Asterisk `slin` / `slin16`).
//!
//! Byte order depends on the transport, checked against real captures:
//! - RTP carries network byte order (big-endian). ari-fixtures/14 records
//!   externalMedia `slin` as PT 10, 320 bytes, first bytes `0000fe74`, and
//!   `slin16` as PT 118, 640 bytes, both "decoded_as: big-endian L16" with
//!   all energy at 1 kHz. `fe74` read big-endian is -396, which matches the
//!   A-law capture of the same tone (`d54d…` → 8, -392); read little-endian
//!   it would be 29950, louder than the tone's peak.
//! - AudioSocket sends little-endian: ari-fixtures/12 ("Audio is
//!   little-endian", `0x10` frames of 320 bytes for slin, `0x12` frames of
//!   640 bytes for slin16). The chan_websocket capture in 12 is µ-law, so its
//!   slin byte order is not recorded; it carries Asterisk's native frames,
//!   which are little-endian on the x86-64/arm64 hosts we run on.
//!
//! Note (ari-fixtures/14): Asterisk drops slin16 (PT 118) that *we* send over
//! UnicastRTP; 16 kHz outbound needs AudioSocket or the media WebSocket.

use super::{Codec, CodecError, ensure_room};

/// Byte order of samples on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteOrder {
    /// Network byte order: L16 over RTP (RFC 3551 §4.5.11).
    Big,
    /// AudioSocket and chan_websocket frames.
    Little,
}

/// Linear 16-bit PCM, mono, at 8 or 16 kHz.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct L16 {
    rate: u32,
    payload_type: u8,
    order: ByteOrder,
}

impl L16 {
    /// Payload type Asterisk uses for `slin` (8 kHz) over RTP (ari-fixtures/14).
    pub const SLIN_PT: u8 = 10;
    /// Dynamic payload type Asterisk uses for `slin16` over RTP (ari-fixtures/14).
    pub const SLIN16_PT: u8 = 118;

    /// An L16 codec; `rate` must be 8000 or 16000.
    pub fn new(rate: u32, payload_type: u8, order: ByteOrder) -> Result<Self, CodecError> {
        if rate != 8000 && rate != 16000 {
            return Err(CodecError::UnsupportedRate(rate));
        }
        Ok(L16 {
            rate,
            payload_type,
            order,
        })
    }

    /// Asterisk `slin` over RTP: 8 kHz, PT 10, big-endian.
    pub fn rtp_slin() -> Self {
        L16 {
            rate: 8000,
            payload_type: Self::SLIN_PT,
            order: ByteOrder::Big,
        }
    }

    /// Asterisk `slin16` over RTP: 16 kHz, PT 118, big-endian (inbound only).
    pub fn rtp_slin16() -> Self {
        L16 {
            rate: 16000,
            payload_type: Self::SLIN16_PT,
            order: ByteOrder::Big,
        }
    }

    /// AudioSocket / media WebSocket PCM at `rate` (8000 or 16000), little-endian.
    /// The payload type is unused there and set to the RTP one for the rate.
    pub fn socket(rate: u32) -> Result<Self, CodecError> {
        let pt = if rate == 16000 {
            Self::SLIN16_PT
        } else {
            Self::SLIN_PT
        };
        Self::new(rate, pt, ByteOrder::Little)
    }

    /// The wire byte order of this instance.
    pub fn byte_order(&self) -> ByteOrder {
        self.order
    }
}

impl Codec for L16 {
    fn payload_type(&self) -> u8 {
        self.payload_type
    }

    fn clock_rate(&self) -> u32 {
        self.rate
    }

    fn decode(&mut self, payload: &[u8], out: &mut [i16]) -> Result<usize, CodecError> {
        if !payload.len().is_multiple_of(2) {
            return Err(CodecError::BadPayloadLength { len: payload.len() });
        }
        let n = payload.len() / 2;
        ensure_room(n, out.len())?;
        for (o, b) in out.iter_mut().zip(payload.chunks_exact(2)) {
            *o = match self.order {
                ByteOrder::Big => i16::from_be_bytes([b[0], b[1]]),
                ByteOrder::Little => i16::from_le_bytes([b[0], b[1]]),
            };
        }
        Ok(n)
    }

    fn encode(&mut self, pcm: &[i16], out: &mut [u8]) -> Result<usize, CodecError> {
        ensure_room(pcm.len() * 2, out.len())?;
        for (o, &x) in out.chunks_exact_mut(2).zip(pcm) {
            o.copy_from_slice(&match self.order {
                ByteOrder::Big => x.to_be_bytes(),
                ByteOrder::Little => x.to_le_bytes(),
            });
        }
        Ok(pcm.len() * 2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtp_slin_is_big_endian_as_captured_in_fixture_14() {
        // First payload bytes of the slin capture: "0000fe74".
        let mut out = [0i16; 2];
        assert_eq!(
            L16::rtp_slin().decode(&[0x00, 0x00, 0xfe, 0x74], &mut out),
            Ok(2)
        );
        assert_eq!(out, [0, -396]);
    }

    #[test]
    fn metadata_matches_fixture_14() {
        let s = L16::rtp_slin();
        assert_eq!(
            (
                s.payload_type(),
                s.samples_per_frame() * 2,
                s.timestamp_step()
            ),
            (10, 320, 160)
        );
        let s16 = L16::rtp_slin16();
        assert_eq!(
            (
                s16.payload_type(),
                s16.samples_per_frame() * 2,
                s16.timestamp_step()
            ),
            (118, 640, 320)
        );
    }

    #[test]
    fn socket_frames_are_little_endian_and_sized_as_in_fixture_12() {
        let mut c = L16::socket(16000).unwrap();
        assert_eq!(c.byte_order(), ByteOrder::Little);
        let pcm = [0i16; 320];
        let mut buf = [0u8; 640];
        assert_eq!(c.encode(&pcm, &mut buf), Ok(640)); // AudioSocket 0x12 frame
        let mut c8 = L16::socket(8000).unwrap();
        let mut one = [0u8; 2];
        c8.encode(&[-396], &mut one).unwrap();
        assert_eq!(one, [0x74, 0xfe]);
    }

    #[test]
    fn round_trips_both_orders() {
        let pcm: Vec<i16> = (0..320).map(|i| (i as i16).wrapping_mul(211)).collect();
        for order in [ByteOrder::Big, ByteOrder::Little] {
            let mut c = L16::new(16000, 118, order).unwrap();
            let mut buf = [0u8; 640];
            let n = c.encode(&pcm, &mut buf).unwrap();
            let mut back = [0i16; 320];
            assert_eq!(c.decode(&buf[..n], &mut back), Ok(320));
            assert_eq!(&back[..], &pcm[..]);
        }
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(
            L16::new(44100, 0, ByteOrder::Big),
            Err(CodecError::UnsupportedRate(44100))
        );
        let mut out = [0i16; 4];
        assert_eq!(
            L16::rtp_slin().decode(&[0; 3], &mut out),
            Err(CodecError::BadPayloadLength { len: 3 })
        );
        let mut small = [0u8; 3];
        assert!(L16::rtp_slin().encode(&[0, 0], &mut small).is_err());
    }
}
