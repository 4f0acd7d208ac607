//! WAV files for prompts, test fixtures and recordings, through `hound`.
//!
//! Only 16-bit integer PCM mono is accepted: that is what the media core
//! carries, and converting other layouts silently would hide a bad prompt.
//! These functions allocate and do I/O through the reader/writer given; they
//! belong at set-up and tear-down, never on the per-frame path.

use std::io::{Read, Seek, Write};
use std::path::Path;

/// Why a WAV could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum WavError {
    /// The file is not 16-bit integer PCM mono.
    #[error("unsupported WAV: {channels} channel(s), {bits} bits, {format}; need 16-bit PCM mono")]
    Unsupported {
        /// Channel count in the header.
        channels: u16,
        /// Bits per sample in the header.
        bits: u16,
        /// "integer PCM" or "float".
        format: &'static str,
    },
    /// A sample rate of zero.
    #[error("sample rate 0 Hz")]
    ZeroRate,
    /// hound failed (I/O or malformed file).
    #[error("wav: {0}")]
    Hound(#[from] hound::Error),
}

/// A mono 16-bit clip in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WavAudio {
    /// Sample rate in Hz.
    pub sample_rate: u32,
    /// The samples.
    pub samples: Vec<i16>,
}

fn spec(sample_rate: u32) -> Result<hound::WavSpec, WavError> {
    if sample_rate == 0 {
        return Err(WavError::ZeroRate);
    }
    Ok(hound::WavSpec {
        channels: 1,
        sample_rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    })
}

/// Reads a whole 16-bit mono WAV.
pub fn read<R: Read>(reader: R) -> Result<WavAudio, WavError> {
    let r = hound::WavReader::new(reader)?;
    let s = r.spec();
    if s.channels != 1 || s.bits_per_sample != 16 || s.sample_format != hound::SampleFormat::Int {
        return Err(WavError::Unsupported {
            channels: s.channels,
            bits: s.bits_per_sample,
            format: match s.sample_format {
                hound::SampleFormat::Int => "integer PCM",
                hound::SampleFormat::Float => "float",
            },
        });
    }
    let samples = r.into_samples::<i16>().collect::<Result<Vec<_>, _>>()?;
    Ok(WavAudio {
        sample_rate: s.sample_rate,
        samples,
    })
}

/// Reads a 16-bit mono WAV file.
pub fn read_file(path: impl AsRef<Path>) -> Result<WavAudio, WavError> {
    read(std::io::BufReader::new(
        std::fs::File::open(path).map_err(hound::Error::IoError)?,
    ))
}

/// Writes a whole clip as a 16-bit mono WAV.
pub fn write<W: Write + Seek>(
    writer: W,
    sample_rate: u32,
    samples: &[i16],
) -> Result<(), WavError> {
    let mut w = WavWriter::new(writer, sample_rate)?;
    w.write_samples(samples)?;
    w.finish()
}

/// Writes a 16-bit mono WAV file.
pub fn write_file(
    path: impl AsRef<Path>,
    sample_rate: u32,
    samples: &[i16],
) -> Result<(), WavError> {
    let f = std::fs::File::create(path).map_err(hound::Error::IoError)?;
    write(std::io::BufWriter::new(f), sample_rate, samples)
}

/// Appends frames to a 16-bit mono WAV as they come (call recordings).
///
/// The header's lengths are fixed up by [`finish`](Self::finish); a writer
/// dropped without it still finalizes (hound does so on drop) but any error
/// is lost.
pub struct WavWriter<W: Write + Seek> {
    inner: hound::WavWriter<W>,
}

impl<W: Write + Seek> std::fmt::Debug for WavWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WavWriter")
            .field("samples", &self.inner.len())
            .finish_non_exhaustive()
    }
}

impl<W: Write + Seek> WavWriter<W> {
    /// Starts a file at `sample_rate`; writes the header.
    pub fn new(writer: W, sample_rate: u32) -> Result<Self, WavError> {
        Ok(WavWriter {
            inner: hound::WavWriter::new(writer, spec(sample_rate)?)?,
        })
    }

    /// Appends samples.
    pub fn write_samples(&mut self, samples: &[i16]) -> Result<(), WavError> {
        // hound's 16-bit writer avoids per-sample dispatch and allocation.
        let mut w = self.inner.get_i16_writer(samples.len() as u32);
        for &s in samples {
            w.write_sample(s);
        }
        Ok(w.flush()?)
    }

    /// Samples written so far.
    pub fn len(&self) -> u32 {
        self.inner.len()
    }

    /// True before the first sample.
    pub fn is_empty(&self) -> bool {
        self.inner.len() == 0
    }

    /// Fixes up the header and flushes.
    pub fn finish(self) -> Result<(), WavError> {
        Ok(self.inner.finalize()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn round_trips_any_rate_in_memory() {
        for rate in [8000, 16000, 22050, 24000, 48000] {
            let samples: Vec<i16> = (0..rate as i32 / 10)
                .map(|i| (i * 37 % 65536 - 32768) as i16)
                .collect();
            let mut buf = Cursor::new(Vec::new());
            write(&mut buf, rate, &samples).unwrap();
            let bytes = buf.into_inner();
            assert_eq!(bytes.len(), 44 + samples.len() * 2); // canonical header
            let back = read(Cursor::new(bytes)).unwrap();
            assert_eq!(
                back,
                WavAudio {
                    sample_rate: rate,
                    samples
                }
            );
        }
    }

    #[test]
    fn streaming_writer_appends_frames() {
        let mut buf = Cursor::new(Vec::new());
        let mut w = WavWriter::new(&mut buf, 8000).unwrap();
        assert!(w.is_empty());
        for k in 0..5 {
            w.write_samples(&[k; 160]).unwrap();
        }
        assert_eq!(w.len(), 800);
        w.finish().unwrap();
        let back = read(Cursor::new(buf.into_inner())).unwrap();
        assert_eq!(back.samples.len(), 800);
        assert_eq!(&back.samples[160..163], &[1, 1, 1]);
    }

    #[test]
    fn file_helpers_round_trip() {
        let path = std::env::temp_dir().join(format!("vg-media-wav-{}.wav", std::process::id()));
        write_file(&path, 16000, &[1, -2, 3]).unwrap();
        let back = read_file(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(back.samples, [1, -2, 3]);
        assert!(matches!(read_file(&path), Err(WavError::Hound(_))));
    }

    #[test]
    fn rejects_stereo_float_and_garbage() {
        let mut buf = Cursor::new(Vec::new());
        let stereo = hound::WavSpec {
            channels: 2,
            ..spec(8000).unwrap()
        };
        let mut w = hound::WavWriter::new(&mut buf, stereo).unwrap();
        w.write_sample(0i16).unwrap();
        w.write_sample(0i16).unwrap();
        w.finalize().unwrap();
        assert!(matches!(
            read(Cursor::new(buf.into_inner())),
            Err(WavError::Unsupported {
                channels: 2,
                bits: 16,
                ..
            })
        ));
        let mut buf = Cursor::new(Vec::new());
        let float = hound::WavSpec {
            bits_per_sample: 32,
            sample_format: hound::SampleFormat::Float,
            ..spec(8000).unwrap()
        };
        let mut w = hound::WavWriter::new(&mut buf, float).unwrap();
        w.write_sample(0.5f32).unwrap();
        w.finalize().unwrap();
        assert!(matches!(
            read(Cursor::new(buf.into_inner())),
            Err(WavError::Unsupported {
                format: "float",
                ..
            })
        ));
        assert!(matches!(
            read(Cursor::new(b"RIFF nonsense".to_vec())),
            Err(WavError::Hound(_))
        ));
        assert!(matches!(
            WavWriter::new(Cursor::new(Vec::new()), 0),
            Err(WavError::ZeroRate)
        ));
    }
}
