//! Mono 16-bit PCM WAV files and a tiny sound analysis, for test audio.
//!
//! Asterisk plays 8 kHz 16-bit mono WAV (`format_wav`) and MixMonitor writes
//! the same, so that is all this handles. The analysis is energy based on
//! purpose: tests use tones as "speech" and need to know where sound is.

use std::{io, path::Path, time::Duration};

/// The sample rate Asterisk's `.wav` format uses.
pub const RATE: u32 = 8000;

/// Decoded mono audio.
#[derive(Debug, Clone, PartialEq)]
pub struct Wav {
    /// Samples per second.
    pub rate: u32,
    /// The samples.
    pub samples: Vec<i16>,
}

impl Wav {
    /// How long it plays.
    pub fn duration(&self) -> Duration {
        duration_of(self.samples.len(), self.rate)
    }

    /// Where there is sound; see [`speech_spans`].
    pub fn spans(&self, threshold_dbfs: f64, min_gap: Duration) -> Vec<(Duration, Duration)> {
        speech_spans(&self.samples, self.rate, threshold_dbfs, min_gap)
    }
}

/// Writes mono 16-bit PCM samples as a WAV file.
pub fn write(path: &Path, rate: u32, samples: &[i16]) -> io::Result<()> {
    let data_len = u32::try_from(samples.len() * 2)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "too long for a WAV file"))?;
    let mut out = Vec::with_capacity(44 + samples.len() * 2);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * 2).to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        out.extend_from_slice(&s.to_le_bytes());
    }
    std::fs::write(path, out)
}

/// Reads a mono 16-bit PCM WAV file. A `data` chunk whose size is not
/// written yet (a recording still open) is read to the end of the file.
pub fn read(path: &Path) -> io::Result<Wav> {
    let bytes = std::fs::read(path)?;
    let bad = |what: &str| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {what}", path.display()),
        )
    };
    if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err(bad("not a RIFF/WAVE file"));
    }
    let mut pos = 12;
    let mut rate = None;
    while pos + 8 <= bytes.len() {
        let id = &bytes[pos..pos + 4];
        let len = u32::from_le_bytes([
            bytes[pos + 4],
            bytes[pos + 5],
            bytes[pos + 6],
            bytes[pos + 7],
        ]) as usize;
        let body = pos + 8;
        if id == b"fmt " {
            let f = bytes
                .get(body..body + 16)
                .ok_or_else(|| bad("short fmt chunk"))?;
            let format = u16::from_le_bytes([f[0], f[1]]);
            let channels = u16::from_le_bytes([f[2], f[3]]);
            let bits = u16::from_le_bytes([f[14], f[15]]);
            if format != 1 || channels != 1 || bits != 16 {
                return Err(bad("not mono 16-bit PCM"));
            }
            rate = Some(u32::from_le_bytes([f[4], f[5], f[6], f[7]]));
        } else if id == b"data" {
            let rate = rate.ok_or_else(|| bad("data before fmt"))?;
            let end = if len == 0 {
                bytes.len()
            } else {
                (body + len).min(bytes.len())
            };
            let samples = bytes[body..end]
                .chunks_exact(2)
                .map(|c| i16::from_le_bytes([c[0], c[1]]))
                .collect();
            return Ok(Wav { rate, samples });
        }
        pos = body + len + (len & 1);
    }
    Err(bad("no data chunk"))
}

/// Whether a WAV file is complete: its header's data size matches the file
/// (Asterisk writes the sizes when it closes the file).
pub fn is_complete(path: &Path) -> bool {
    let Ok(bytes) = std::fs::read(path) else {
        return false;
    };
    bytes.len() >= 44
        && u32::from_le_bytes([bytes[40], bytes[41], bytes[42], bytes[43]]) as usize + 44
            == bytes.len()
        && u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) as usize + 8 == bytes.len()
}

/// A sine tone at `freq` Hz and `dbfs` (e.g. -12.0), as a stand-in for speech
/// with an energy-based voice detector.
pub fn tone(freq: f64, duration: Duration, rate: u32, dbfs: f64) -> Vec<i16> {
    let n = samples_in(duration, rate);
    let amp = 32767.0 * 10f64.powf(dbfs / 20.0);
    (0..n)
        .map(|i| {
            (amp * (2.0 * std::f64::consts::PI * freq * i as f64 / f64::from(rate)).sin()) as i16
        })
        .collect()
}

/// Digital silence.
pub fn silence(duration: Duration, rate: u32) -> Vec<i16> {
    vec![0; samples_in(duration, rate)]
}

/// Spans `(start, end)` where the level over 20 ms windows is at or above
/// `threshold_dbfs`; spans less than `min_gap` apart are merged.
pub fn speech_spans(
    samples: &[i16],
    rate: u32,
    threshold_dbfs: f64,
    min_gap: Duration,
) -> Vec<(Duration, Duration)> {
    let win = (rate as usize / 50).max(1);
    let mut spans: Vec<(Duration, Duration)> = Vec::new();
    for (i, w) in samples.chunks(win).enumerate() {
        if level_dbfs(w) < threshold_dbfs {
            continue;
        }
        let start = duration_of(i * win, rate);
        let end = duration_of(i * win + w.len(), rate);
        match spans.last_mut() {
            Some(last) if start.saturating_sub(last.1) < min_gap || start == last.1 => last.1 = end,
            _ => spans.push((start, end)),
        }
    }
    spans
}

/// When sound (at or above `threshold_dbfs`) first appears at or after `after`.
pub fn first_sound_after(
    samples: &[i16],
    rate: u32,
    after: Duration,
    threshold_dbfs: f64,
) -> Option<Duration> {
    speech_spans(samples, rate, threshold_dbfs, Duration::ZERO)
        .into_iter()
        .find(|(_, end)| *end > after)
        .map(|(start, _)| start.max(after))
}

/// RMS level in dB relative to full scale (-inf... clamped to -120 for silence).
pub fn level_dbfs(samples: &[i16]) -> f64 {
    if samples.is_empty() {
        return -120.0;
    }
    let sum: f64 = samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    let rms = (sum / samples.len() as f64).sqrt();
    if rms < 1e-9 {
        -120.0
    } else {
        20.0 * (rms / 32768.0).log10()
    }
}

fn samples_in(duration: Duration, rate: u32) -> usize {
    (duration.as_secs_f64() * f64::from(rate)).round() as usize
}

fn duration_of(samples: usize, rate: u32) -> Duration {
    Duration::from_secs_f64(samples as f64 / f64::from(rate))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_spans() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.wav");
        let mut s = silence(Duration::from_millis(500), RATE);
        s.extend(tone(440.0, Duration::from_secs(1), RATE, -12.0));
        s.extend(silence(Duration::from_millis(500), RATE));
        write(&path, RATE, &s).unwrap();
        assert!(is_complete(&path));
        let w = read(&path).unwrap();
        assert_eq!(w.samples, s);
        assert_eq!(w.duration(), Duration::from_secs(2));
        let spans = w.spans(-40.0, Duration::from_millis(100));
        assert_eq!(
            spans,
            vec![(Duration::from_millis(500), Duration::from_millis(1500))]
        );
        assert_eq!(
            first_sound_after(&w.samples, RATE, Duration::from_millis(700), -40.0),
            Some(Duration::from_millis(700))
        );
        assert_eq!(
            first_sound_after(&w.samples, RATE, Duration::from_millis(1600), -40.0),
            None
        );
        assert!((level_dbfs(&tone(440.0, Duration::from_secs(1), RATE, -12.0)) + 15.0).abs() < 0.5);
    }
}
