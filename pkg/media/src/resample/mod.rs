//! Sample-rate conversion between the rates a call meets: 8 kHz (G.711),
//! 16 kHz (slin16, most STT), 22.05 / 24 kHz (TTS providers) and 48 kHz (Opus).
//!
//! Two layers:
//! - [`FrameResampler`] converts exactly one 20 ms frame per call (160, 320,
//!   441, 480 or 960 samples in, the same duration out). Filter state carries
//!   across calls, so consecutive frames join without clicks.
//! - [`StreamResampler`] accepts chunks of any length (TTS audio does not come
//!   in 20 ms pieces), keeps the remainder, and emits whole 20 ms output frames.
//!
//! # Two engines
//! Pairs among 8, 16, 24 and 48 kHz (ratios L/M with L, M ≤ 6) run on a
//! polyphase FIR (`fir.rs`): about 2 ms of delay and a fraction of the FFT's
//! cost, which matters on the per-call inbound and outbound paths. Pairs with
//! 22.05 kHz (ratios like 441/160) run on rubato's `Fft`, as below.
//!
//! # Why rubato's `Fft` resampler for 22.05 kHz
//! Every pair of these rates has an exact rational ratio whose reduced input
//! block divides a 20 ms frame (22.05 kHz: 441 = 3 × 147 against 48 kHz,
//! 1 × 441 against 8/16 kHz), so the synchronous FFT resampler with
//! `FixedSync::Both` takes one frame in and gives exactly one frame out, every
//! time, with no variable-size side to buffer. It is the fastest rubato
//! resampler at sinc quality and never allocates in `process_into_buffer`.
//! The asynchronous sinc resampler would cost several times more per sample
//! for a ratio that never drifts (the RTP clock is the only clock here).
//!
//! Cost: an algorithmic delay of half an FFT block, i.e. 10 ms of audio
//! ([`FrameResampler::delay`]; 2 ms on the FIR). The first output frame starts with that much
//! of the filter's warm-up (near silence).

mod fir;
mod frame;
mod stream;

#[cfg(test)]
pub(crate) mod signal;
#[cfg(test)]
mod tests;

pub use frame::FrameResampler;
pub use stream::StreamResampler;

/// Sample rates the resamplers accept.
pub const SUPPORTED_RATES: [u32; 5] = [8000, 16000, 22050, 24000, 48000];

/// Samples in one 20 ms frame at `rate` (exact for every supported rate).
pub const fn frame_len(rate: u32) -> usize {
    (rate / 50) as usize
}

/// Why a resampler could not be built or run.
#[derive(Debug, thiserror::Error)]
pub enum ResampleError {
    /// A rate outside [`SUPPORTED_RATES`].
    #[error("sample rate {0} Hz is not supported (8000, 16000, 22050, 24000, 48000)")]
    UnsupportedRate(u32),
    /// [`FrameResampler::process`] was given a frame of the wrong length.
    #[error("input frame of {got} samples, expected {expected} (20 ms)")]
    WrongInputLength {
        /// Samples in 20 ms at the input rate.
        expected: usize,
        /// Samples given.
        got: usize,
    },
    /// The output buffer cannot hold one 20 ms frame.
    #[error("output buffer of {available} samples, a frame needs {needed}")]
    OutputTooSmall {
        /// Samples in 20 ms at the output rate.
        needed: usize,
        /// Samples the buffer holds.
        available: usize,
    },
    /// rubato refused the configuration.
    #[error("resampler construction: {0}")]
    Construction(#[from] rubato::ResamplerConstructionError),
    /// rubato failed while processing (a bug: buffer sizes are fixed here).
    #[error("resampling: {0}")]
    Process(#[from] rubato::ResampleError),
}
