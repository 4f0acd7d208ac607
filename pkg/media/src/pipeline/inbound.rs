//! Inbound: RTP from Asterisk → PCM frames for STT, VAD and DTMF events.

use std::time::{Duration, Instant};

use super::{ConfigError, TelephoneCodec};
use crate::dtmf::{DigitEvent, DtmfError, DtmfReceiver};
use crate::jitter::{Insert, JitterBuffer, JitterConfig, JitterStats};
use crate::resample::{FrameResampler, frame_len};
use crate::rtp::{RtpError, RtpPacket};
use crate::vad::{EnergyVad, VadEvent, VoiceActivityDetector};

/// What an [`InboundPipeline`] accepts and produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InboundConfig {
    /// RTP clock rate of the audio: 8000 (PCMU, PCMA, `slin`) or 16000
    /// (`slin16`; G.711 is then refused).
    pub clock_rate: u32,
    /// Payload type of big-endian L16 at `clock_rate`, if accepted
    /// (10 = `slin`, 118 = `slin16`).
    pub l16_payload_type: Option<u8>,
    /// RFC 4733 telephone-event payload type, if accepted (commonly 101).
    pub telephone_event_payload_type: Option<u8>,
    /// Accept only this SSRC; `None` takes whatever the call latched onto
    /// (the jitter buffer resets on a change).
    pub expected_ssrc: Option<u32>,
    /// Rate of the PCM handed to STT (8, 16, 22.05, 24 or 48 kHz).
    pub output_rate: u32,
    /// Jitter buffer policy; its `clock_rate` and `max_payload` are set from
    /// the fields above.
    pub jitter: JitterConfig,
    /// A digit whose end packets never came is reported after this long
    /// without a telephone-event packet.
    pub dtmf_quiet: Duration,
    /// Codec of audio that comes without RTP, over a reliable stream
    /// (AudioSocket, the media WebSocket), for
    /// [`InboundPipeline::push_frame_bytes`]; its rate must be `clock_rate`.
    pub framed: Option<TelephoneCodec>,
}

impl Default for InboundConfig {
    /// 8 kHz PCMU/PCMA/`slin` in, telephone-event PT 101, 16 kHz out.
    fn default() -> Self {
        Self {
            clock_rate: 8000,
            l16_payload_type: Some(crate::codec::L16::SLIN_PT),
            telephone_event_payload_type: Some(101),
            expected_ssrc: None,
            output_rate: 16000,
            jitter: JitterConfig::default(),
            dtmf_quiet: Duration::from_millis(500),
            framed: None,
        }
    }
}

/// Why [`InboundPipeline::handle_packet`] refused a datagram. Nothing in the
/// pipeline changed; the counters say how often each happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InboundError {
    /// Not a well-formed RTP packet.
    #[error("malformed RTP: {0}")]
    Malformed(#[from] RtpError),
    /// A payload type this call did not negotiate.
    #[error("unexpected payload type {0}")]
    UnexpectedPayloadType(u8),
    /// A packet from another synchronisation source than the one expected.
    #[error("unexpected SSRC {got:#010x}, expected {expected:#010x}")]
    UnexpectedSsrc {
        /// The configured SSRC.
        expected: u32,
        /// The packet's SSRC.
        got: u32,
    },
    /// An audio payload that is not one 20 ms frame of its codec.
    #[error("payload type {payload_type}: {len} bytes, a 20 ms frame is {expected}")]
    BadPayloadLength {
        /// Payload type of the packet.
        payload_type: u8,
        /// Payload bytes received.
        len: usize,
        /// Bytes in 20 ms of that codec.
        expected: usize,
    },
    /// A malformed telephone-event payload.
    #[error("telephone-event: {0}")]
    Dtmf(#[from] DtmfError),
    /// [`InboundPipeline::push_frame_bytes`] on a pipeline built without a
    /// `framed` codec.
    #[error("no codec configured for framed audio")]
    NotFramed,
}

/// One thing for the call task to act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboundOutput<'a> {
    /// 20 ms of PCM at the output rate, for STT, starting at `at` (the jitter
    /// buffer's playout time).
    Audio {
        /// Mono samples, valid until the next call on the pipeline.
        pcm: &'a [i16],
        /// Playout time of the frame.
        at: Instant,
    },
    /// Speech started or ended.
    Vad(VadEvent),
    /// A key press (RFC 4733).
    Dtmf(DigitEvent),
}

/// Running figures of an [`InboundPipeline`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InboundStats {
    /// Datagrams given to [`InboundPipeline::handle_packet`].
    pub packets: u64,
    /// Refused as malformed RTP.
    pub malformed: u64,
    /// Refused for their payload type.
    pub unexpected_payload_type: u64,
    /// Refused for their SSRC.
    pub unexpected_ssrc: u64,
    /// Audio packets refused for their length.
    pub bad_length: u64,
    /// Bytes of framed audio taken by
    /// [`push_frame_bytes`](InboundPipeline::push_frame_bytes).
    pub framed_bytes: u64,
    /// Telephone-event packets taken (including redundant ones).
    pub dtmf_packets: u64,
    /// Digits reported.
    pub digits: u64,
    /// Frames handed out as [`InboundOutput::Audio`] (concealed ones included).
    pub frames: u64,
    /// Of those, frames of silence standing in for lost packets.
    pub silence_frames: u64,
    /// The jitter buffer's own figures (loss, late, reorder, depth, delay).
    pub jitter: JitterStats,
}

/// Per-call inbound media: see the [module docs](super) for the run loop.
///
/// Generic over the VAD so the call picks [`EnergyVad`] or
/// [`EarshotVad`](crate::vad::EarshotVad) without a virtual call per frame.
#[derive(Debug)]
pub struct InboundPipeline<V = EnergyVad> {
    config: InboundConfig,
    jitter: JitterBuffer,
    dtmf: DtmfReceiver,
    last_dtmf: Option<Instant>,
    finished_digit: Option<DigitEvent>,
    resampler: FrameResampler,
    vad: V,
    /// The VAD takes 8 or 16 kHz: the output when it is one of those, else
    /// the decoded frame.
    vad_on_output: bool,
    decoded: Box<[i16]>,
    out: Box<[i16]>,
    /// Framed audio gathered toward one 20 ms frame, and how much of it is filled.
    gather: Box<[u8]>,
    gathered: usize,
    /// A framed 20 ms frame processed and not yet handed out, and its time.
    framed_ready: Option<Instant>,
    now: Option<Instant>,
    stats: InboundStats,
}

impl<V: VoiceActivityDetector> InboundPipeline<V> {
    /// A pipeline with every buffer it will use allocated now.
    pub fn new(config: InboundConfig, vad: V) -> Result<Self, ConfigError> {
        if let Some(pt) = config.l16_payload_type {
            TelephoneCodec::L16 {
                payload_type: pt,
                rate: config.clock_rate,
            }
            .validate()?;
        } else if config.clock_rate != 8000 && config.framed.is_none() {
            return Err(ConfigError::ClockRate(config.clock_rate));
        }
        if let Some(codec) = config.framed {
            codec.validate()?;
            if codec.rate() != config.clock_rate {
                return Err(ConfigError::ClockRate(codec.rate()));
            }
        }
        let resampler = FrameResampler::new(config.clock_rate, config.output_rate)?;
        let jitter = JitterBuffer::new(JitterConfig {
            clock_rate: config.clock_rate,
            // L16 is the largest payload accepted: 2 bytes a sample.
            max_payload: config
                .jitter
                .max_payload
                .max(2 * frame_len(config.clock_rate)),
            ..config.jitter
        });
        Ok(Self {
            jitter,
            dtmf: DtmfReceiver::new(8000),
            last_dtmf: None,
            finished_digit: None,
            decoded: vec![0; resampler.input_len()].into_boxed_slice(),
            out: vec![0; resampler.output_len()].into_boxed_slice(),
            gather: vec![0; config.framed.map_or(0, |c| c.frame_bytes())].into_boxed_slice(),
            gathered: 0,
            framed_ready: None,
            resampler,
            vad,
            vad_on_output: matches!(config.output_rate, 8000 | 16000),
            now: None,
            stats: InboundStats::default(),
            config,
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &InboundConfig {
        &self.config
    }

    /// The VAD inside (e.g. to read the energy detector's noise floor).
    pub fn vad(&self) -> &V {
        &self.vad
    }

    /// Takes one datagram that arrived at `now`. Audio is copied into the
    /// jitter buffer (duplicates and late packets are dropped and counted
    /// there, not refused); telephone events go to the DTMF receiver.
    pub fn handle_packet(&mut self, now: Instant, datagram: &[u8]) -> Result<(), InboundError> {
        self.stats.packets += 1;
        let result = self.take_packet(now, datagram);
        match &result {
            Err(InboundError::Malformed(_)) => self.stats.malformed += 1,
            Err(InboundError::UnexpectedPayloadType(_)) => self.stats.unexpected_payload_type += 1,
            Err(InboundError::UnexpectedSsrc { .. }) => self.stats.unexpected_ssrc += 1,
            Err(InboundError::BadPayloadLength { .. }) => self.stats.bad_length += 1,
            Err(InboundError::Dtmf(_) | InboundError::NotFramed) | Ok(()) => {}
        }
        result
    }

    fn take_packet(&mut self, now: Instant, datagram: &[u8]) -> Result<(), InboundError> {
        let packet = RtpPacket::parse(datagram)?;
        let h = packet.header;
        if let Some(expected) = self.config.expected_ssrc
            && h.ssrc != expected
        {
            return Err(InboundError::UnexpectedSsrc {
                expected,
                got: h.ssrc,
            });
        }
        if Some(h.payload_type) == self.config.telephone_event_payload_type {
            self.dtmf.handle(h.timestamp, packet.payload)?;
            self.stats.dtmf_packets += 1;
            self.last_dtmf = Some(now);
            return Ok(());
        }
        let codec = codec_for(&self.config, h.payload_type)
            .ok_or(InboundError::UnexpectedPayloadType(h.payload_type))?;
        if packet.payload.len() != codec.frame_bytes() {
            return Err(InboundError::BadPayloadLength {
                payload_type: h.payload_type,
                len: packet.payload.len(),
                expected: codec.frame_bytes(),
            });
        }
        // Duplicate, Late and TooLarge are counted by the jitter buffer.
        let _: Insert = self.jitter.insert(now, &h, packet.payload);
        Ok(())
    }

    /// Takes framed audio that arrived at `now` over a reliable, ordered
    /// stream (AudioSocket, the media WebSocket): no RTP, no jitter buffer.
    /// Bytes of any count are gathered into 20 ms frames of the `framed`
    /// codec; at most one frame completes per call, and is decoded,
    /// resampled and classified at once. Returns the bytes taken: call again
    /// with the rest after draining [`poll_output`](Self::poll_output).
    pub fn push_frame_bytes(&mut self, now: Instant, bytes: &[u8]) -> Result<usize, InboundError> {
        let codec = self.config.framed.ok_or(InboundError::NotFramed)?;
        if self.framed_ready.is_some() {
            // The last frame was not drained: take nothing until it is.
            return Ok(0);
        }
        let now = self.now.map_or(now, |t| t.max(now));
        self.now = Some(now);
        let take = (self.gather.len() - self.gathered).min(bytes.len());
        self.gather[self.gathered..self.gathered + take].copy_from_slice(&bytes[..take]);
        self.gathered += take;
        self.stats.framed_bytes += take as u64;
        if self.gathered == self.gather.len() {
            self.gathered = 0;
            let n = codec.decode(&self.gather, &mut self.decoded).unwrap_or(0);
            self.decoded[n..].fill(0);
            self.classify(now);
            self.framed_ready = Some(now);
        }
        Ok(take)
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next: the next
    /// frame's playout, the VAD hangover, or a digit left open. `None`: wait
    /// for the next packet.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let digit = self
            .dtmf
            .in_progress()
            .and(self.last_dtmf)
            .map(|t| t + self.config.dtmf_quiet);
        [self.jitter.poll_timeout(), self.vad.poll_timeout(), digit]
            .into_iter()
            .flatten()
            .min()
    }

    /// Advances the pipeline's clock; what is due then comes out of
    /// [`poll_output`](Self::poll_output). An earlier `now` is ignored.
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.now.map_or(now, |t| t.max(now));
        self.now = Some(now);
        self.jitter.handle_timeout(now);
        if self
            .last_dtmf
            .is_some_and(|t| t + self.config.dtmf_quiet <= now)
            && let Some(d) = self.dtmf.finish()
        {
            self.finished_digit = Some(d);
        }
    }

    /// The next output due at the time last given to
    /// [`handle_timeout`](Self::handle_timeout); drain until `None`.
    pub fn poll_output(&mut self) -> Option<InboundOutput<'_>> {
        if let Some(d) = self
            .finished_digit
            .take()
            .or_else(|| self.dtmf.poll_event())
        {
            self.stats.digits += 1;
            return Some(InboundOutput::Dtmf(d));
        }
        if let Some(e) = self.vad.poll_event() {
            return Some(InboundOutput::Vad(e));
        }
        if let Some(at) = self.framed_ready.take() {
            return Some(InboundOutput::Audio { pcm: &self.out, at });
        }
        if let Some(at) = self.next_frame() {
            return Some(InboundOutput::Audio { pcm: &self.out, at });
        }
        // Only once every due frame has been classified may the clock end
        // speech: a late wake-up must not report the end before the frames.
        self.vad.handle_timeout(self.now?);
        self.vad.poll_event().map(InboundOutput::Vad)
    }

    /// Decodes, resamples and classifies the next due frame into `self.out`.
    fn next_frame(&mut self) -> Option<Instant> {
        let frame = self.jitter.poll_output()?;
        let at = frame.playout;
        let codec = if frame.payload.is_empty() {
            None
        } else {
            codec_for(&self.config, frame.payload_type)
        };
        let decoded = match codec.map(|c| c.decode(frame.payload, &mut self.decoded)) {
            Some(Ok(n)) => n,
            // Concealed as silence (or, impossibly, undecodable: lengths
            // were checked on the way in).
            _ => 0,
        };
        self.decoded[decoded..].fill(0);
        self.stats.silence_frames += u64::from(decoded == 0);
        self.classify(at);
        Some(at)
    }

    /// Resamples `self.decoded` into `self.out` and runs the VAD on the frame.
    fn classify(&mut self, at: Instant) {
        self.stats.frames += 1;
        if self
            .resampler
            .process(&self.decoded, &mut self.out)
            .is_err()
        {
            // Sizes are fixed at construction; never reached.
            self.out.fill(0);
        }
        if self.vad_on_output {
            self.vad
                .handle_frame(at, &self.out, self.config.output_rate);
        } else {
            self.vad
                .handle_frame(at, &self.decoded, self.config.clock_rate);
        }
    }

    /// Figures so far.
    pub fn stats(&self) -> InboundStats {
        InboundStats {
            jitter: self.jitter.stats(),
            ..self.stats
        }
    }
}

/// The codec of an audio payload type this call accepts.
fn codec_for(config: &InboundConfig, payload_type: u8) -> Option<TelephoneCodec> {
    let g711 = config.clock_rate == 8000;
    match payload_type {
        0 if g711 => Some(TelephoneCodec::Pcmu),
        8 if g711 => Some(TelephoneCodec::Pcma),
        pt if Some(pt) == config.l16_payload_type => Some(TelephoneCodec::L16 {
            payload_type: pt,
            rate: config.clock_rate,
        }),
        _ => None,
    }
}
