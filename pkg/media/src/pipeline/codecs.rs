//! The telephone codecs a pipeline can run, chosen by value so the per-frame
//! path is a `match`, not a virtual call, and a pipeline needs no `Box<dyn>`.

use crate::codec::{Codec, CodecError, L16, Pcma, Pcmu};

/// Audio codec on the RTP leg of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TelephoneCodec {
    /// G.711 µ-law, PT 0, 8 kHz.
    #[default]
    Pcmu,
    /// G.711 A-law, PT 8, 8 kHz.
    Pcma,
    /// Big-endian L16 over RTP (`slin` PT 10 at 8 kHz, `slin16` PT 118 at 16 kHz).
    L16 {
        /// Payload type on the wire.
        payload_type: u8,
        /// 8000 or 16000.
        rate: u32,
    },
    /// Little-endian linear PCM without RTP, as AudioSocket and the media
    /// WebSocket carry it (`slin`, `slin16`); the payload type is never sent.
    SlinLe {
        /// 8000 or 16000.
        rate: u32,
    },
}

impl TelephoneCodec {
    /// Asterisk `slin` over RTP: PT 10, 8 kHz.
    pub const SLIN: TelephoneCodec = TelephoneCodec::L16 {
        payload_type: L16::SLIN_PT,
        rate: 8000,
    };

    /// Payload type on the wire.
    pub fn payload_type(&self) -> u8 {
        match self {
            TelephoneCodec::Pcmu => Pcmu::PAYLOAD_TYPE,
            TelephoneCodec::Pcma => Pcma::PAYLOAD_TYPE,
            TelephoneCodec::L16 { payload_type, .. } => *payload_type,
            TelephoneCodec::SlinLe { rate: 16000 } => L16::SLIN16_PT,
            TelephoneCodec::SlinLe { .. } => L16::SLIN_PT,
        }
    }

    /// Sample rate and RTP clock rate.
    pub fn rate(&self) -> u32 {
        match self {
            TelephoneCodec::L16 { rate, .. } | TelephoneCodec::SlinLe { rate } => *rate,
            _ => 8000,
        }
    }

    /// Payload bytes of one 20 ms frame.
    pub fn frame_bytes(&self) -> usize {
        let samples = self.rate() as usize / 50;
        match self {
            TelephoneCodec::L16 { .. } | TelephoneCodec::SlinLe { .. } => samples * 2,
            _ => samples,
        }
    }

    /// Checks the rate (L16 takes 8 or 16 kHz only).
    pub(crate) fn validate(&self) -> Result<(), CodecError> {
        self.instance().map(|_| ())
    }

    fn instance(&self) -> Result<Instance, CodecError> {
        Ok(match *self {
            TelephoneCodec::Pcmu => Instance::Pcmu(Pcmu),
            TelephoneCodec::Pcma => Instance::Pcma(Pcma),
            TelephoneCodec::L16 { payload_type, rate } => {
                Instance::L16(L16::new(rate, payload_type, crate::codec::ByteOrder::Big)?)
            }
            TelephoneCodec::SlinLe { rate } => Instance::L16(L16::new(
                rate,
                self.payload_type(),
                crate::codec::ByteOrder::Little,
            )?),
        })
    }

    /// Decodes one payload into `out`; returns the samples written.
    pub(crate) fn decode(&self, payload: &[u8], out: &mut [i16]) -> Result<usize, CodecError> {
        match self.instance()? {
            Instance::Pcmu(mut c) => c.decode(payload, out),
            Instance::Pcma(mut c) => c.decode(payload, out),
            Instance::L16(mut c) => c.decode(payload, out),
        }
    }

    /// Encodes one frame into `out`; returns the bytes written.
    pub(crate) fn encode(&self, pcm: &[i16], out: &mut [u8]) -> Result<usize, CodecError> {
        match self.instance()? {
            Instance::Pcmu(mut c) => c.encode(pcm, out),
            Instance::Pcma(mut c) => c.encode(pcm, out),
            Instance::L16(mut c) => c.encode(pcm, out),
        }
    }
}

/// G.711 and L16 are stateless, so an instance per call costs nothing.
enum Instance {
    Pcmu(Pcmu),
    Pcma(Pcma),
    L16(L16),
}
