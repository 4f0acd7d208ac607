//! The media of one call, both ways: two plain structs a per-call task owns.
//!
//! - [`InboundPipeline`]: RTP datagrams from Asterisk → parse → RFC 4733
//!   telephone events → [`DigitEvent`](crate::dtmf::DigitEvent)s; audio →
//!   jitter buffer → decode (PCMU, PCMA, L16 by payload type; lost frames as
//!   silence) → resample to the STT rate → VAD → [`InboundOutput`]s.
//! - [`OutboundPipeline`]: TTS PCM of any rate and chunking → resample to the
//!   codec rate → encode → pacer → serialized RTP packets, one per 20 ms on a
//!   drift-free schedule; `flush` for barge-in; RFC 4733 digits in the same
//!   sequence space.
//!
//! Both are sans-IO: they read no clock and own no socket. Every buffer is
//! allocated in `new`; after that no frame allocates (proved by
//! `tests/pipeline_alloc`). The one exception is a change of TTS sample rate,
//! which rebuilds the outbound resampler.
//!
//! # Run loop
//! One task per call owns both pipelines and loops:
//!
//! ```text
//! loop {
//!     let deadline = min(inbound.poll_timeout(), outbound.poll_timeout());
//!     select! {
//!         datagram = socket.recv()  => inbound.handle_packet(now, &datagram)?  // count, don't die
//!         chunk = tts.next()        => outbound.push_pcm(now, &chunk, rate)?
//!         tts ended                 => outbound.end_of_speech(now)?
//!         barge-in                  => heard = outbound.stats().utterance_sent; outbound.flush();
//!         sleep_until(deadline)     => {}
//!     }
//!     inbound.handle_timeout(now);
//!     while let Some(out) = inbound.poll_output() {
//!         match out { Audio { pcm, at } => stt.send(pcm), Vad(e) => …, Dtmf(d) => … }
//!     }
//!     outbound.handle_timeout(now);
//!     while let Some(packet) = outbound.poll_transmit() { socket.send(packet) }
//! }
//! ```
//!
//! `now` is read once per wake-up by the task (the pipelines never read it).
//! Time only moves forward: an earlier `now` than before is ignored.
//!
//! # Choices and their costs
//! - Telephone-event packets share the audio's sequence space, so the jitter
//!   buffer sees their numbers as a hole and conceals it with silence (as the
//!   caller heard none: audio is suppressed while a key is down).
//! - The inbound VAD runs on the output frame when that is 8 or 16 kHz (the
//!   rates the detectors take), else on the decoded frame.
//! - Resampling delays audio (2 ms on the FIR for 8/16/24/48 kHz, 10 ms on
//!   the FFT for 22.05 kHz). Outbound, `end_of_speech` pushes that tail out
//!   with silence so the end of a reply is heard. Inbound, the tail of a
//!   talkspurt comes out with the next one (at most 2 ms of audio on the FIR).

mod codecs;
mod inbound;
mod marks;
mod outbound;
#[cfg(test)]
mod tests_inbound;
#[cfg(test)]
mod tests_outbound;

pub use codecs::TelephoneCodec;
pub use inbound::{InboundConfig, InboundError, InboundOutput, InboundPipeline, InboundStats};
pub use outbound::{OutboundConfig, OutboundError, OutboundPipeline, OutboundStats};

/// Why a pipeline could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A sample rate the resampler does not take.
    #[error(transparent)]
    Resample(#[from] crate::resample::ResampleError),
    /// A codec at a rate it does not support (L16 takes 8 or 16 kHz).
    #[error(transparent)]
    Codec(#[from] crate::codec::CodecError),
    /// G.711 runs at 8 kHz only: without an L16 payload type the inbound
    /// clock rate must be 8000.
    #[error("inbound clock rate {0} Hz needs an L16 payload type (G.711 is 8 kHz only)")]
    ClockRate(u32),
}
