//! Arbitrary-length chunks in, whole 20 ms frames out.

use super::{FrameResampler, ResampleError};

/// Resamples a stream delivered in chunks of any length (TTS audio) and
/// emits whole 20 ms output frames through a callback.
///
/// Holds at most one partial input frame between calls; its buffers are
/// allocated once in [`StreamResampler::new`].
#[derive(Debug)]
pub struct StreamResampler {
    frames: FrameResampler,
    pending: Vec<i16>,
    filled: usize,
    out: Vec<i16>,
}

impl StreamResampler {
    /// A streaming resampler from `from_hz` to `to_hz`.
    pub fn new(from_hz: u32, to_hz: u32) -> Result<Self, ResampleError> {
        let frames = FrameResampler::new(from_hz, to_hz)?;
        let (n_in, n_out) = (frames.input_len(), frames.output_len());
        Ok(StreamResampler {
            frames,
            pending: vec![0; n_in],
            filled: 0,
            out: vec![0; n_out],
        })
    }

    /// The frame resampler underneath (rates, frame sizes, delay).
    pub fn frames(&self) -> &FrameResampler {
        &self.frames
    }

    /// Input samples held back because they do not yet make a whole frame.
    pub fn pending(&self) -> usize {
        self.filled
    }

    /// Feeds `input` and calls `emit` with each complete 20 ms output frame;
    /// returns the number of frames emitted.
    pub fn push(
        &mut self,
        mut input: &[i16],
        mut emit: impl FnMut(&[i16]),
    ) -> Result<usize, ResampleError> {
        let n_in = self.pending.len();
        let mut emitted = 0;
        if self.filled > 0 {
            let take = (n_in - self.filled).min(input.len());
            self.pending[self.filled..self.filled + take].copy_from_slice(&input[..take]);
            self.filled += take;
            input = &input[take..];
            if self.filled < n_in {
                return Ok(0);
            }
            self.frames.process(&self.pending, &mut self.out)?;
            self.filled = 0;
            emit(&self.out);
            emitted += 1;
        }
        // Whole frames straight from the caller's slice: no copy.
        let mut chunks = input.chunks_exact(n_in);
        for frame in &mut chunks {
            self.frames.process(frame, &mut self.out)?;
            emit(&self.out);
            emitted += 1;
        }
        let rest = chunks.remainder();
        self.pending[..rest.len()].copy_from_slice(rest);
        self.filled = rest.len();
        Ok(emitted)
    }

    /// Pads a partial frame with silence and emits it (end of a TTS stream);
    /// returns the number of frames emitted (0 or 1).
    pub fn flush(&mut self, mut emit: impl FnMut(&[i16])) -> Result<usize, ResampleError> {
        if self.filled == 0 {
            return Ok(0);
        }
        self.pending[self.filled..].fill(0);
        self.filled = 0;
        self.frames.process(&self.pending, &mut self.out)?;
        emit(&self.out);
        Ok(1)
    }

    /// Drops pending input and filter history (barge-in: the next audio is unrelated).
    pub fn clear(&mut self) {
        self.filled = 0;
        self.frames.reset();
    }
}
