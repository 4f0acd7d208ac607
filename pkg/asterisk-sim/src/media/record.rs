//! What a simulated far end received from the gateway, packet by packet.

use super::g711;

/// Media formats externalMedia accepts (fixture 14).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaFormat {
    /// G.711 µ-law, PT 0.
    Ulaw,
    /// G.711 A-law, PT 8.
    Alaw,
    /// 8 kHz signed linear, PT 10 (big-endian over RTP, little-endian over AudioSocket).
    Slin,
    /// 16 kHz signed linear, PT 118 (Asterisk sends it but drops it when received over RTP).
    Slin16,
}

impl MediaFormat {
    /// Parses an ARI `format` value.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "ulaw" => Self::Ulaw,
            "alaw" => Self::Alaw,
            "slin" => Self::Slin,
            "slin16" => Self::Slin16,
            _ => return None,
        })
    }

    /// RTP payload type Asterisk uses.
    pub fn payload_type(self) -> u8 {
        match self {
            Self::Ulaw => 0,
            Self::Alaw => 8,
            Self::Slin => 10,
            Self::Slin16 => 118,
        }
    }

    /// Samples per second.
    pub fn rate(self) -> u32 {
        if self == Self::Slin16 { 16_000 } else { 8_000 }
    }

    /// Bytes one sample takes on the wire.
    pub fn bytes_per_sample(self) -> usize {
        match self {
            Self::Ulaw | Self::Alaw => 1,
            Self::Slin | Self::Slin16 => 2,
        }
    }

    /// Samples a payload of `len` bytes decodes to.
    pub fn samples_in(self, len: usize) -> usize {
        len / self.bytes_per_sample()
    }

    /// Samples in one 20 ms frame.
    pub fn samples_per_frame(self) -> usize {
        (self.rate() / 50) as usize
    }
}

/// One media packet (or AudioSocket / WebSocket frame) received from the gateway.
#[derive(Clone, Debug)]
pub struct RxPacket {
    /// Arrival time in ms since the simulator started: over UDP RTP and AudioSocket the
    /// kernel's receive stamp where there is one (Linux), otherwise when the simulator read
    /// it; over the media WebSocket the frame's play-out time (Asterisk re-times them).
    pub at_ms: f64,
    /// RTP sequence number (0 for non-RTP transports).
    pub seq: u16,
    /// RTP timestamp (0 for non-RTP transports).
    pub ts: u32,
    /// RTP marker bit.
    pub marker: bool,
    /// RTP payload type (0 for non-RTP transports).
    pub pt: u8,
    /// RTP SSRC (0 for non-RTP transports).
    pub ssrc: u32,
    /// The payload (empty when the simulator was told not to keep payloads).
    pub payload: Vec<u8>,
    /// Whether Asterisk would pass it on to the caller: PT 118 over UnicastRTP is dropped
    /// (fixture 14), so the caller never hears it.
    pub forwarded: bool,
}

/// Everything one media channel received.
#[derive(Debug)]
pub(crate) struct Record {
    pub(crate) format: MediaFormat,
    /// AudioSocket and chan_websocket carry host-order (little-endian) linear audio.
    pub(crate) little_endian: bool,
    pub(crate) packets: Vec<RxPacket>,
    /// When each utterance of the far party began to be sent on this channel
    /// (ms since the simulator started, the clock of [`RxPacket::at_ms`]).
    pub(crate) talk_onsets_ms: Vec<f64>,
    /// Timing figures kept even when packets are not (load runs).
    pub(crate) summary: super::stats::RxSummary,
}

impl Record {
    pub(crate) fn new(format: MediaFormat, little_endian: bool) -> Self {
        Self {
            format,
            little_endian,
            packets: Vec::new(),
            talk_onsets_ms: Vec::new(),
            summary: super::stats::RxSummary::default(),
        }
    }
}

/// Decodes payloads of `format` to PCM at the format's rate.
pub(crate) fn decode(format: MediaFormat, little_endian: bool, payload: &[u8], out: &mut Vec<i16>) {
    match format {
        MediaFormat::Ulaw => out.extend(payload.iter().map(|b| g711::ulaw_decode(*b))),
        MediaFormat::Alaw => out.extend(payload.iter().map(|b| g711::alaw_decode(*b))),
        MediaFormat::Slin | MediaFormat::Slin16 => out.extend(payload.chunks_exact(2).map(|c| {
            if little_endian {
                i16::from_le_bytes([c[0], c[1]])
            } else {
                i16::from_be_bytes([c[0], c[1]])
            }
        })),
    }
}

/// Encodes 8 kHz PCM for `format` (slin16 is upsampled by linear interpolation).
pub(crate) fn encode(format: MediaFormat, little_endian: bool, pcm8k: &[i16], out: &mut Vec<u8>) {
    let put = |s: i16, out: &mut Vec<u8>| {
        out.extend_from_slice(&if little_endian {
            s.to_le_bytes()
        } else {
            s.to_be_bytes()
        });
    };
    match format {
        MediaFormat::Ulaw => out.extend(pcm8k.iter().map(|s| g711::ulaw_encode(*s))),
        MediaFormat::Alaw => out.extend(pcm8k.iter().map(|s| g711::alaw_encode(*s))),
        MediaFormat::Slin => pcm8k.iter().for_each(|s| put(*s, out)),
        MediaFormat::Slin16 => {
            for (i, s) in pcm8k.iter().enumerate() {
                let next = pcm8k.get(i + 1).copied().unwrap_or(*s);
                put(*s, out);
                put(((i32::from(*s) + i32::from(next)) / 2) as i16, out);
            }
        }
    }
}
