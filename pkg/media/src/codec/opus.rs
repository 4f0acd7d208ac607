//! Opus (RFC 6716 / RFC 7587) through the `opus` crate, which bundles libopus.
//!
//! `audiopus` is unmaintained; `opus` 0.4 builds libopus from source (cmake),
//! so no system library is needed. One encoder and one decoder per instance:
//! Opus is stateful, so an instance belongs to one call direction.

use ::opus::{Application, Channels, Decoder, Encoder};

use super::{Codec, CodecError};

/// What the encoder tunes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpusApplication {
    /// Speech intelligibility (telephony, STT/TTS providers).
    Voip,
    /// Fidelity to the input (music on hold, prompts).
    Audio,
}

/// Opus mono at 8, 12, 16, 24 or 48 kHz PCM, 20 ms frames by default.
pub struct Opus {
    encoder: Encoder,
    decoder: Decoder,
    rate: u32,
    payload_type: u8,
}

impl std::fmt::Debug for Opus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opus")
            .field("rate", &self.rate)
            .field("payload_type", &self.payload_type)
            .finish_non_exhaustive()
    }
}

impl Opus {
    /// Largest Opus packet (RFC 6716 §3.4: 1275 bytes per frame).
    pub const MAX_PACKET: usize = 1275;

    /// An encoder/decoder pair at `rate` Hz PCM. `payload_type` is the dynamic
    /// PT negotiated for this stream (Opus has no static one).
    pub fn new(rate: u32, payload_type: u8, app: OpusApplication) -> Result<Self, CodecError> {
        if !matches!(rate, 8000 | 12000 | 16000 | 24000 | 48000) {
            return Err(CodecError::UnsupportedRate(rate));
        }
        let app = match app {
            OpusApplication::Voip => Application::Voip,
            OpusApplication::Audio => Application::Audio,
        };
        Ok(Opus {
            encoder: Encoder::new(rate, Channels::Mono, app)?,
            decoder: Decoder::new(rate, Channels::Mono)?,
            rate,
            payload_type,
        })
    }

    /// Sets the target bitrate in bits per second.
    pub fn set_bitrate(&mut self, bps: i32) -> Result<(), CodecError> {
        Ok(self.encoder.set_bitrate(::opus::Bitrate::Bits(bps))?)
    }

    /// Enables in-band forward error correction for an expected loss percentage.
    pub fn set_inband_fec(&mut self, loss_percent: i32) -> Result<(), CodecError> {
        self.encoder.set_inband_fec(loss_percent > 0)?;
        Ok(self.encoder.set_packet_loss_perc(loss_percent)?)
    }

    /// Samples of encoder look-ahead: how far decoded output lags the input.
    pub fn lookahead(&mut self) -> Result<usize, CodecError> {
        Ok(usize::try_from(self.encoder.get_lookahead()?).unwrap_or(0))
    }
}

impl Codec for Opus {
    fn payload_type(&self) -> u8 {
        self.payload_type
    }

    /// Always 48 kHz: RFC 7587 §4.1 fixes the RTP clock whatever the PCM rate.
    fn clock_rate(&self) -> u32 {
        48000
    }

    fn sample_rate(&self) -> u32 {
        self.rate
    }

    /// Decodes one packet. An empty payload asks libopus to conceal one lost
    /// 20 ms frame (packet loss concealment).
    fn decode(&mut self, payload: &[u8], out: &mut [i16]) -> Result<usize, CodecError> {
        let out = if payload.is_empty() {
            let n = self.samples_per_frame().min(out.len());
            &mut out[..n]
        } else {
            out
        };
        Ok(self.decoder.decode(payload, out, false)?)
    }

    fn encode(&mut self, pcm: &[i16], out: &mut [u8]) -> Result<usize, CodecError> {
        // Opus frames are 2.5, 5, 10, 20, 40 or 60 ms.
        let per_2_5ms = self.rate as usize / 400;
        if !matches!(
            pcm.len().checked_div(per_2_5ms),
            Some(1 | 2 | 4 | 8 | 16 | 24)
        ) || !pcm.len().is_multiple_of(per_2_5ms)
        {
            return Err(CodecError::BadFrameLength(pcm.len()));
        }
        Ok(self.encoder.encode(pcm, out)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resample::signal::{db, goertzel_fraction, rms, tone, zero_crossing_freq};

    /// Encodes and decodes one second of a 1 kHz tone frame by frame and
    /// returns the decoded audio after the first 100 ms (codec warm-up).
    fn round_trip_tone(rate: u32) -> Vec<i16> {
        let mut c = Opus::new(rate, 111, OpusApplication::Voip).unwrap();
        let n = c.samples_per_frame();
        let mut packet = [0u8; Opus::MAX_PACKET];
        let mut pcm = vec![0i16; n];
        let mut out = Vec::new();
        for f in 0..50 {
            let frame = tone(rate, 1000.0, 16384.0, f * n, n);
            let len = c.encode(&frame, &mut packet).unwrap();
            assert!(len > 0 && len < 400, "{len} bytes");
            assert_eq!(c.decode(&packet[..len], &mut pcm), Ok(n));
            out.extend_from_slice(&pcm);
        }
        out.split_off(rate as usize / 10)
    }

    #[test]
    fn tone_survives_round_trip_at_each_rate() {
        for rate in [16000, 24000, 48000] {
            let out = round_trip_tone(rate);
            let f = zero_crossing_freq(&out, rate);
            assert!((f - 1000.0).abs() < 2.0, "{rate}: {f} Hz");
            let frac = goertzel_fraction(&out, rate, 1000.0);
            assert!(frac > 0.95, "{rate}: {frac}");
            let level = db(rms(&out), 16384.0 / 2f64.sqrt());
            assert!(level.abs() < 1.0, "{rate}: {level:+.2} dB");
        }
    }

    #[test]
    fn rtp_clock_is_48k_whatever_the_pcm_rate() {
        let c = Opus::new(16000, 111, OpusApplication::Audio).unwrap();
        assert_eq!(
            (c.payload_type(), c.clock_rate(), c.sample_rate()),
            (111, 48000, 16000)
        );
        assert_eq!((c.samples_per_frame(), c.timestamp_step()), (320, 960));
    }

    #[test]
    fn empty_payload_conceals_one_frame() {
        let mut c = Opus::new(48000, 111, OpusApplication::Voip).unwrap();
        let mut out = [0i16; 5760];
        assert_eq!(c.decode(&[], &mut out), Ok(960));
    }

    #[test]
    fn rejects_bad_rates_frames_and_packets() {
        assert_eq!(
            Opus::new(44100, 111, OpusApplication::Voip).err(),
            Some(CodecError::UnsupportedRate(44100))
        );
        let mut c = Opus::new(48000, 111, OpusApplication::Voip).unwrap();
        let mut buf = [0u8; Opus::MAX_PACKET];
        assert_eq!(
            c.encode(&[0; 100], &mut buf),
            Err(CodecError::BadFrameLength(100))
        );
        assert_eq!(
            c.encode(&[0; 1440], &mut buf),
            Err(CodecError::BadFrameLength(1440))
        );
        assert!(c.encode(&[0; 480], &mut buf).is_ok()); // 10 ms is a valid Opus frame
        let mut pcm = [0i16; 960];
        // TOC config 3 = SILK 60 ms: 2880 samples do not fit in 960 -> libopus error.
        assert!(matches!(
            c.decode(&[3 << 3, 0, 0], &mut pcm),
            Err(CodecError::Opus { .. })
        ));
        c.set_bitrate(24000).unwrap();
        c.set_inband_fec(10).unwrap();
        assert!(c.lookahead().unwrap() > 0);
    }
}
