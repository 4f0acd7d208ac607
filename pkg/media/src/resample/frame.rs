//! One 20 ms frame in, one 20 ms frame out.

use rubato::audioadapter_buffers::direct::SequentialSlice;
use rubato::{Fft, FixedSync, Resampler, WindowFunction};

use super::fir::{Fir, ratio};
use super::{ResampleError, SUPPORTED_RATES, frame_len};

/// Converts 20 ms frames of mono `i16` PCM from one rate to another.
///
/// All buffers are allocated in [`FrameResampler::new`]; [`process`](Self::process)
/// does not allocate. Equal rates pass frames through unchanged.
pub struct FrameResampler {
    from: u32,
    to: u32,
    // None when from == to or a FIR serves the pair.
    fft: Option<Fft<f32>>,
    // Pairs with a small ratio (all but 22.05 kHz): see `fir.rs`.
    fir: Option<Fir>,
    input: Vec<f32>,
    output: Vec<f32>,
    n_in: usize,
    n_out: usize,
}

impl std::fmt::Debug for FrameResampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameResampler")
            .field("from", &self.from)
            .field("to", &self.to)
            .finish_non_exhaustive()
    }
}

impl FrameResampler {
    /// A resampler from `from_hz` to `to_hz`, both in [`SUPPORTED_RATES`].
    pub fn new(from_hz: u32, to_hz: u32) -> Result<Self, ResampleError> {
        for rate in [from_hz, to_hz] {
            if !SUPPORTED_RATES.contains(&rate) {
                return Err(ResampleError::UnsupportedRate(rate));
            }
        }
        let (n_in, n_out) = (frame_len(from_hz), frame_len(to_hz));
        let fir = match ratio(from_hz, to_hz) {
            Some((up, down)) if from_hz != to_hz => Some(Fir::new(from_hz, to_hz, up, down, n_in)),
            _ => None,
        };
        let fft = if from_hz == to_hz || fir.is_some() {
            None
        } else {
            // One sub-chunk: the FFT block is the whole frame, which keeps the
            // anti-aliasing cutoff closest to Nyquist; Both: exact frame sizes.
            let fft = Fft::new_custom(
                from_hz as usize,
                to_hz as usize,
                n_in,
                1,
                1,
                WindowFunction::BlackmanHarris2,
                FixedSync::Both,
            )?;
            debug_assert_eq!(fft.input_frames_next(), n_in);
            debug_assert_eq!(fft.output_frames_next(), n_out);
            Some(fft)
        };
        let fft_used = fft.is_some();
        Ok(FrameResampler {
            from: from_hz,
            to: to_hz,
            fft,
            fir,
            // The f32 staging buffers serve the FFT only.
            input: vec![0.0; if fft_used { n_in } else { 0 }],
            output: vec![0.0; if fft_used { n_out } else { 0 }],
            n_in,
            n_out,
        })
    }

    /// Input rate in Hz.
    pub fn from_rate(&self) -> u32 {
        self.from
    }

    /// Output rate in Hz.
    pub fn to_rate(&self) -> u32 {
        self.to
    }

    /// Samples per input frame (20 ms at the input rate).
    pub fn input_len(&self) -> usize {
        self.n_in
    }

    /// Samples per output frame (20 ms at the output rate).
    pub fn output_len(&self) -> usize {
        self.n_out
    }

    /// Algorithmic delay in output samples: a tone entering at sample 0 comes
    /// out starting around this sample.
    pub fn delay(&self) -> usize {
        match (&self.fir, &self.fft) {
            (Some(fir), _) => fir.delay(),
            (None, Some(fft)) => fft.output_delay(),
            (None, None) => 0,
        }
    }

    /// Resamples one 20 ms frame; returns the samples written to `output`
    /// (always [`output_len`](Self::output_len)).
    pub fn process(&mut self, input: &[i16], output: &mut [i16]) -> Result<usize, ResampleError> {
        let (n_in, n_out) = (self.n_in, self.n_out);
        if input.len() != n_in {
            return Err(ResampleError::WrongInputLength {
                expected: n_in,
                got: input.len(),
            });
        }
        if output.len() < n_out {
            return Err(ResampleError::OutputTooSmall {
                needed: n_out,
                available: output.len(),
            });
        }
        if let Some(fir) = self.fir.as_mut() {
            fir.process(input, &mut output[..n_out]);
            return Ok(n_out);
        }
        let Some(fft) = self.fft.as_mut() else {
            output[..n_out].copy_from_slice(input);
            return Ok(n_out);
        };
        for (f, &s) in self.input.iter_mut().zip(input) {
            *f = f32::from(s) * (1.0 / 32768.0);
        }
        // Mono sequential slices over our own buffers: sizes match by
        // construction, so these cannot fail.
        let adapter_in = SequentialSlice::new(&self.input[..], 1, n_in).map_err(|_| {
            ResampleError::WrongInputLength {
                expected: n_in,
                got: self.input.len(),
            }
        })?;
        let mut adapter_out =
            SequentialSlice::new_mut(&mut self.output[..], 1, n_out).map_err(|_| {
                ResampleError::OutputTooSmall {
                    needed: n_out,
                    available: n_out,
                }
            })?;
        let (_, written) = fft.process_into_buffer(&adapter_in, &mut adapter_out, None)?;
        for (o, &f) in output.iter_mut().zip(&self.output[..written]) {
            // `as` saturates, so overshoot from filter ringing clips instead of
            // wrapping. Round half away from zero by hand: `f32::round` is a
            // libm call on baseline x86-64 (no SSE4.1), and was a quarter of
            // the inbound frame's cost in callgrind.
            let x = f * 32768.0;
            *o = (x + 0.5f32.copysign(x)) as i16;
        }
        Ok(written)
    }

    /// Clears the filter history (start of a new, unrelated stream).
    pub fn reset(&mut self) {
        if let Some(f) = self.fft.as_mut() {
            f.reset();
        }
        if let Some(f) = self.fir.as_mut() {
            f.reset();
        }
    }
}
