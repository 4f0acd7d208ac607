//! Outbound: TTS PCM of any rate and chunking → paced RTP to Asterisk.

use std::time::{Duration, Instant};

use super::marks::{Mark, Marks};
use super::{ConfigError, TelephoneCodec};
use crate::dtmf::{DtmfError, DtmfSender};
use crate::pacer::{FRAME_DURATION, Pacer, PacerConfig, PushError};
use crate::resample::{ResampleError, StreamResampler, frame_len};
use crate::rtp::RTP_HEADER_LEN;

/// Longest input frame (20 ms at 48 kHz): the silence pushed to drain the
/// resampler at the end of speech is borrowed from a static of this size.
const MAX_FRAME: usize = 960;
static SILENCE: [i16; MAX_FRAME] = [0; MAX_FRAME];

/// Frames [`OutboundPipeline::end_of_speech`] (or a change of rate) may still
/// queue after the last push: the padded partial frame and the resampler's
/// tail. [`OutboundPipeline::pcm_room`] keeps this much of the pacer free.
const DRAIN_FRAMES: usize = 2;

/// How an [`OutboundPipeline`] encodes, numbers and paces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboundConfig {
    /// Codec on the wire (µ-law by default). Its rate is the RTP clock rate
    /// and the rate TTS audio is resampled to.
    pub codec: TelephoneCodec,
    /// Rate of the PCM expected from TTS; the resampler for it is built now.
    /// Pushing another rate rebuilds it (one allocation per change of rate).
    pub input_rate: u32,
    /// SSRC, first sequence number and timestamp, queue bound, tolerances;
    /// `payload_type`, `clock_rate` and `max_payload` are set from `codec`.
    pub pacer: PacerConfig,
    /// RFC 4733 telephone-event payload type for [`OutboundPipeline::send_dtmf`].
    pub telephone_event_payload_type: u8,
    /// How long a sent digit is held.
    pub dtmf_duration: Duration,
    /// Volume of sent digits, in -dBm0 (0..=63).
    pub dtmf_volume: u8,
}

impl Default for OutboundConfig {
    /// µ-law, 24 kHz TTS in, telephone-event PT 101, 100 ms digits at -10 dBm0.
    fn default() -> Self {
        Self {
            codec: TelephoneCodec::Pcmu,
            input_rate: 24000,
            pacer: PacerConfig::default(),
            telephone_event_payload_type: 101,
            dtmf_duration: Duration::from_millis(100),
            dtmf_volume: 10,
        }
    }
}

/// Why audio or a digit was not queued.
#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    /// A sample rate the resampler does not take.
    #[error(transparent)]
    Resample(#[from] ResampleError),
    /// The queue holds `pacer.max_queued` already: `dropped` 20 ms frames of
    /// this push were lost (the ones before them are queued).
    #[error("pacer queue full: {dropped} frames dropped")]
    QueueFull {
        /// Frames dropped.
        dropped: usize,
    },
    /// A digit that cannot be sent, or no room for its packets.
    #[error("DTMF: {0}")]
    Dtmf(#[from] DtmfError),
    /// The queue cannot hold all packets of the digit; nothing was queued.
    #[error("pacer queue full: no room for {needed} DTMF packets")]
    NoRoomForDigit {
        /// Packets the digit needs.
        needed: usize,
    },
}

/// Running figures of an [`OutboundPipeline`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboundStats {
    /// RTP packets handed out (audio and DTMF).
    pub packets_sent: u64,
    /// Audio sent over the pipeline's life.
    pub audio_sent: Duration,
    /// Audio sent since the current utterance began (the first push after
    /// [`OutboundPipeline::end_of_speech`] or [`OutboundPipeline::flush`]):
    /// after a barge-in, how much of the reply the caller heard.
    pub utterance_sent: Duration,
    /// Audio queued, not yet sent.
    pub queued: Duration,
    /// Packets sent later than their slot by more than the tolerance.
    pub late_sends: u64,
    /// Times the queue ran dry mid-talkspurt.
    pub underruns: u64,
    /// Frames dropped because the queue was full.
    pub dropped_frames: u64,
    /// Audio dropped by [`OutboundPipeline::flush`] over the pipeline's life.
    pub flushed: Duration,
    /// Telephone-event packets sent.
    pub dtmf_packets: u64,
}

/// Per-call outbound media: see the [module docs](super) for the run loop.
#[derive(Debug)]
pub struct OutboundPipeline {
    config: OutboundConfig,
    resampler: StreamResampler,
    pacer: Pacer,
    marks: Marks,
    dtmf: DtmfSender,
    /// RTP timestamp of the telephone event being sent.
    dtmf_timestamp: u32,
    encoded: Box<[u8]>,
    transmit: Box<[u8]>,
    utterance_open: bool,
    /// Depth of the pacer's queue, in frames.
    slots: usize,
    /// Audio went into the resampler since it was last drained: its delay
    /// line holds the end of it.
    resampler_dirty: bool,
    /// Level of the last packet handed out (RMS; 0 for DTMF).
    last_level: u16,
    stats: OutboundStats,
}

impl OutboundPipeline {
    /// A pipeline with every buffer it will use allocated now.
    pub fn new(config: OutboundConfig) -> Result<Self, ConfigError> {
        config.codec.validate()?;
        let rate = config.codec.rate();
        let bytes = config.codec.frame_bytes();
        let pacer_config = PacerConfig {
            payload_type: config.codec.payload_type(),
            clock_rate: rate,
            max_payload: bytes,
            ..config.pacer
        };
        // The pacer's queue depth, computed as the pacer does.
        let slots = pacer_config
            .max_queued
            .as_nanos()
            .div_ceil(FRAME_DURATION.as_nanos());
        let slots = usize::try_from(slots).unwrap_or(usize::MAX).max(1);
        Ok(Self {
            resampler: StreamResampler::new(config.input_rate, rate)?,
            pacer: Pacer::new(pacer_config),
            marks: Marks::new(slots),
            dtmf: DtmfSender::new(rate),
            dtmf_timestamp: 0,
            encoded: vec![0; bytes].into_boxed_slice(),
            transmit: vec![0; RTP_HEADER_LEN + bytes].into_boxed_slice(),
            utterance_open: false,
            slots,
            resampler_dirty: false,
            last_level: 0,
            stats: OutboundStats::default(),
            config,
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &OutboundConfig {
        &self.config
    }

    /// Queues TTS audio that arrived at `now`: `pcm` is mono at `rate` Hz, of
    /// any length. Whole 20 ms frames are resampled, encoded and queued; a
    /// remainder waits for the next push. Returns the frames queued.
    pub fn push_pcm(
        &mut self,
        now: Instant,
        pcm: &[i16],
        rate: u32,
    ) -> Result<usize, OutboundError> {
        if rate != self.resampler.frames().from_rate() {
            self.drain_resampler(now)?;
            self.resampler = StreamResampler::new(rate, self.config.codec.rate())?;
        }
        if !self.utterance_open {
            self.utterance_open = true;
            self.stats.utterance_sent = Duration::ZERO;
        }
        self.resampler_dirty |= !pcm.is_empty();
        let (resampler, mut queue) = self.split(now);
        let frames = resampler.push(pcm, |f| queue.frame(f))?;
        queue.finish(frames)
    }

    /// Audio queued in the pacer, not yet sent.
    pub fn queued(&self) -> Duration {
        self.pacer.queued()
    }

    /// How many samples of `rate` Hz audio [`push_pcm`](Self::push_pcm) takes
    /// now without the pacer holding more than `limit` of audio: pushed in
    /// slices of at most this size, a producer faster than real time never
    /// loses a frame (`QueueFull`), and its memory stays bounded by `limit`.
    ///
    /// The room is counted in whole output frames, net of the partial frame
    /// the resampler holds, and never reaches into the last frames of the
    /// pacer's `max_queued` that [`end_of_speech`](Self::end_of_speech) or a
    /// change of rate may still need. 0 means: wait for packets to go out.
    /// `limit` should be a few frames below `max_queued` so it is always
    /// reachable. Reads only counters; never allocates.
    pub fn pcm_room(&self, rate: u32, limit: Duration) -> usize {
        let frame = FRAME_DURATION.as_nanos();
        let limit = usize::try_from(limit.as_nanos() / frame).unwrap_or(usize::MAX);
        let queued = usize::try_from(self.pacer.queued().as_nanos() / frame).unwrap_or(usize::MAX);
        let mut free = limit
            .min(self.slots.saturating_sub(DRAIN_FRAMES))
            .saturating_sub(queued);
        let frames = self.resampler.frames();
        let (n_in, pending) = if rate == frames.from_rate() {
            (frames.input_len(), self.resampler.pending())
        } else {
            // The old rate's resampler is drained first, into the pacer.
            free = free.saturating_sub(DRAIN_FRAMES);
            (frame_len(rate), 0)
        };
        (free * n_in).saturating_sub(pending)
    }

    /// The TTS stream is complete: the partial frame is padded with silence
    /// and queued, the resampler's delay line is drained, and the pacer ends
    /// the talkspurt quietly once it has sent everything.
    pub fn end_of_speech(&mut self, now: Instant) -> Result<usize, OutboundError> {
        let frames = self.drain_resampler(now)?;
        self.pacer.end_talkspurt();
        self.utterance_open = false;
        Ok(frames)
    }

    /// Pushes out everything the resampler holds: the partial frame, and the
    /// audio still inside its filter (its delay) unless the padding did that.
    fn drain_resampler(&mut self, now: Instant) -> Result<usize, OutboundError> {
        let frames = self.resampler.frames();
        let (n_in, n_out) = (frames.input_len(), frames.output_len());
        let pending = self.resampler.pending();
        let padding_out = (n_in - pending) * n_out / n_in;
        let needs_tail = self.resampler_dirty
            && frames.delay() > 0
            && (pending == 0 || padding_out < frames.delay());
        self.resampler_dirty = false;
        let (resampler, mut queue) = self.split(now);
        let mut n = resampler.flush(|f| queue.frame(f))?;
        if needs_tail {
            n += resampler.push(&SILENCE[..n_in], |f| queue.frame(f))?;
        }
        queue.finish(n)
    }

    /// Barge-in: drops every queued frame and the resampler's partial frame
    /// and history, at once. Returns the audio dropped; nothing more is sent
    /// until the next push.
    pub fn flush(&mut self) -> Duration {
        let frames = self.resampler.frames();
        let partial = Duration::from_nanos(
            self.resampler.pending() as u64 * 1_000_000_000 / u64::from(frames.from_rate()),
        );
        self.resampler.clear();
        self.resampler_dirty = false;
        self.marks.clear();
        self.utterance_open = false;
        let dropped = self.pacer.flush() + partial;
        self.stats.flushed += dropped;
        dropped
    }

    /// Barge-in hold: stops sending at once; every queued frame keeps its
    /// place, and audio pushed meanwhile queues behind it. Undone by
    /// [`resume`](Self::resume) (the same audio goes on where it stopped) or
    /// [`flush`](Self::flush) (it is dropped).
    pub fn pause(&mut self) {
        self.pacer.pause();
    }

    /// Ends a [`pause`](Self::pause) at `now`: the first frame not sent goes
    /// out at once, then the rest at 20 ms as before.
    pub fn resume(&mut self, now: Instant) {
        self.pacer.unpause(now);
    }

    /// Whether a [`pause`](Self::pause) is in force: nothing goes out, and
    /// [`poll_timeout`](Self::poll_timeout) is `None` with audio queued.
    pub fn is_paused(&self) -> bool {
        self.pacer.is_paused()
    }

    /// The audio level (RMS of the samples) of the last packet handed out
    /// by [`poll_transmit`](Self::poll_transmit): the echo reference's input.
    pub fn last_level(&self) -> u16 {
        self.last_level
    }

    /// Queues RFC 4733 packets for `digit` ('0'-'9', '*', '#', 'A'-'D') in the
    /// same sequence space and schedule as the audio, after what is queued.
    pub fn send_dtmf(&mut self, now: Instant, digit: char) -> Result<(), OutboundError> {
        let ms = u32::try_from(self.config.dtmf_duration.as_millis()).unwrap_or(u32::MAX);
        let packets = self.dtmf.packets(digit, ms, self.config.dtmf_volume, 0)?;
        let needed = packets.clone().count();
        if needed > self.marks.room() {
            return Err(OutboundError::NoRoomForDigit { needed });
        }
        for (i, p) in packets.enumerate() {
            if self.pacer.push(now, &p.payload).is_err() {
                // Room was checked; only a payload larger than a slot could
                // fail, and 4 bytes fit every codec's slot.
                return Err(OutboundError::NoRoomForDigit { needed });
            }
            let mark = if i == 0 {
                Mark::DtmfStart
            } else {
                Mark::DtmfMore
            };
            self.marks.push(mark, 0);
        }
        self.pacer.end_talkspurt();
        Ok(())
    }

    /// When the next packet is due; `None` while nothing is queued.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.pacer.poll_timeout()
    }

    /// Advances the pipeline's clock; due packets then come out of
    /// [`poll_transmit`](Self::poll_transmit).
    pub fn handle_timeout(&mut self, now: Instant) {
        self.pacer.handle_timeout(now);
    }

    /// The next due RTP packet, serialized into the pipeline's own buffer
    /// (valid until the next call). Drain until `None`.
    pub fn poll_transmit(&mut self) -> Option<&[u8]> {
        let n = self.write_next(None)?;
        Some(&self.transmit[..n])
    }

    /// Like [`poll_transmit`](Self::poll_transmit), but serializes into `out`
    /// (at least 12 bytes plus one frame); returns the packet's length.
    pub fn poll_transmit_into(&mut self, out: &mut [u8]) -> Option<usize> {
        self.write_next(Some(out))
    }

    fn write_next(&mut self, out: Option<&mut [u8]>) -> Option<usize> {
        let packet = self.pacer.poll_output()?;
        let mut header = packet.header;
        let (mark, level) = self.marks.pop();
        self.last_level = level;
        match mark {
            Mark::Audio => {
                self.stats.audio_sent += FRAME_DURATION;
                self.stats.utterance_sent += FRAME_DURATION;
            }
            mark => {
                if mark == Mark::DtmfStart {
                    self.dtmf_timestamp = header.timestamp;
                }
                header.marker = mark == Mark::DtmfStart;
                header.timestamp = self.dtmf_timestamp;
                header.payload_type = self.config.telephone_event_payload_type;
                self.stats.dtmf_packets += 1;
            }
        }
        self.stats.packets_sent += 1;
        let buf = out.unwrap_or(&mut self.transmit);
        // Only a caller buffer smaller than one packet fails here.
        header.write_packet(packet.payload, buf).ok()
    }

    /// Figures so far.
    pub fn stats(&self) -> OutboundStats {
        let p = self.pacer.stats();
        OutboundStats {
            queued: p.queued,
            late_sends: p.late_sends,
            underruns: p.underruns,
            ..self.stats
        }
    }
}

/// Encodes resampled frames into the pacer, counting what did not fit.
/// Borrows the fields it needs so the resampler can be borrowed alongside.
struct Queue<'a> {
    codec: TelephoneCodec,
    encoded: &'a mut [u8],
    pacer: &'a mut Pacer,
    marks: &'a mut Marks,
    dropped_total: &'a mut u64,
    now: Instant,
    dropped: usize,
}

impl Queue<'_> {
    fn frame(&mut self, pcm: &[i16]) {
        let Ok(n) = self.codec.encode(pcm, self.encoded) else {
            // Frame and buffer sizes are fixed at construction; never reached.
            self.dropped += 1;
            return;
        };
        match self.pacer.push(self.now, &self.encoded[..n]) {
            Ok(()) => self.marks.push(Mark::Audio, crate::echo::frame_level(pcm)),
            Err(PushError::Full | PushError::TooLarge { .. }) => self.dropped += 1,
        }
    }

    /// `Ok(frames queued)`, or the count of frames the full queue refused.
    fn finish(self, emitted: usize) -> Result<usize, OutboundError> {
        *self.dropped_total += self.dropped as u64;
        if self.dropped > 0 {
            return Err(OutboundError::QueueFull {
                dropped: self.dropped,
            });
        }
        Ok(emitted)
    }
}

impl OutboundPipeline {
    /// The resampler and a [`Queue`] over the other fields, borrowed apart.
    fn split(&mut self, now: Instant) -> (&mut StreamResampler, Queue<'_>) {
        let queue = Queue {
            codec: self.config.codec,
            encoded: &mut self.encoded,
            pacer: &mut self.pacer,
            marks: &mut self.marks,
            dropped_total: &mut self.stats.dropped_frames,
            now,
            dropped: 0,
        };
        (&mut self.resampler, queue)
    }
}
