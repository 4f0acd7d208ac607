//! Pre-recorded prompts: a WAV file read once at start, checked, and
//! resampled to the rate the call's audio leaves at, so playing it costs a
//! copy and nothing else.

use std::{path::Path, sync::Arc};

use media::{
    resample::{ResampleError, StreamResampler},
    wav::{self, WavError},
};

use crate::application::session::Prompt;

/// Why a prompt could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    /// Missing, unreadable, not a WAV or not 16-bit PCM mono.
    #[error("{path}: {source}")]
    Wav {
        /// The file.
        path: String,
        /// What was wrong.
        source: WavError,
    },
    /// A rate the resampler does not take.
    #[error("{path}: {source}")]
    Rate {
        /// The file.
        path: String,
        /// What was wrong.
        source: ResampleError,
    },
    /// Not a single sample.
    #[error("{path}: holds no audio")]
    Empty {
        /// The file.
        path: String,
    },
}

/// Reads the 16-bit PCM mono WAV at `path` and resamples it to `rate` Hz.
pub fn load_prompt(path: &Path, rate: u32) -> Result<Prompt, PromptError> {
    let shown = path.display().to_string();
    let clip = wav::read_file(path).map_err(|source| PromptError::Wav {
        path: shown.clone(),
        source,
    })?;
    prompt_from(clip, shown, rate)
}

fn prompt_from(clip: wav::WavAudio, shown: String, rate: u32) -> Result<Prompt, PromptError> {
    if clip.samples.is_empty() {
        return Err(PromptError::Empty { path: shown });
    }
    let pcm =
        resample(&clip.samples, clip.sample_rate, rate).map_err(|source| PromptError::Rate {
            path: shown.clone(),
            source,
        })?;
    Ok(Prompt {
        rate,
        pcm: Arc::from(pcm),
    })
}

/// The whole clip at `to` Hz, aligned: the filter's delay is trimmed from the
/// start and flushed out at the end, so the length scales with the rates.
fn resample(samples: &[i16], from: u32, to: u32) -> Result<Vec<i16>, ResampleError> {
    let mut r = StreamResampler::new(from, to)?;
    if from == to {
        return Ok(samples.to_vec());
    }
    let want = (samples.len() as u64 * u64::from(to) / u64::from(from)) as usize;
    let delay = r.frames().delay();
    let mut out = Vec::with_capacity(want + delay + r.frames().output_len() * 2);
    r.push(samples, |f| out.extend_from_slice(f))?;
    // Enough silence to push the delayed tail out.
    let tail = vec![0; r.frames().input_len() * (1 + delay / r.frames().output_len().max(1))];
    r.push(&tail, |f| out.extend_from_slice(f))?;
    r.flush(|f| out.extend_from_slice(f))?;
    let end = (delay + want).min(out.len());
    Ok(out[delay.min(end)..end].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn rms(pcm: &[i16]) -> f64 {
        let sum: f64 = pcm.iter().map(|s| f64::from(*s).powi(2)).sum();
        (sum / pcm.len().max(1) as f64).sqrt()
    }

    /// Decodes WAV bytes the way `load_prompt` decodes a file.
    fn from_bytes(bytes: Vec<u8>, rate: u32) -> Result<Prompt, PromptError> {
        let clip = wav::read(Cursor::new(bytes)).map_err(|source| PromptError::Wav {
            path: "mem.wav".into(),
            source,
        })?;
        prompt_from(clip, "mem.wav".into(), rate)
    }

    fn wav_bytes(rate: u32, samples: &[i16]) -> Vec<u8> {
        let mut c = Cursor::new(Vec::new());
        wav::write(&mut c, rate, samples).unwrap();
        c.into_inner()
    }

    #[test]
    fn the_shipped_prompt_loads_at_both_call_rates() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/prompts/technical-difficulties.wav");
        let source = wav::read_file(&path).unwrap();
        let secs = source.samples.len() as f64 / f64::from(source.sample_rate);
        assert!(secs > 2.0, "a real sentence, not a blip: {secs} s");
        for rate in [8_000, 16_000] {
            let p = load_prompt(&path, rate).unwrap();
            assert_eq!(p.rate, rate);
            let got = p.pcm.len() as f64 / f64::from(rate);
            assert!(
                (got - secs).abs() < 0.001,
                "{got} s at {rate} Hz vs {secs} s"
            );
            // Speech, not silence: a voiced level in the thousands.
            assert!(rms(&p.pcm) > 1000.0, "rms {}", rms(&p.pcm));
        }
    }

    #[test]
    fn a_tone_keeps_its_place_and_level_through_resampling() {
        // 0.5 s silence, 1 s of 440 Hz, 0.5 s silence at 16 kHz.
        let mut s = vec![0i16; 8_000];
        s.extend((0..16_000).map(|i| {
            (8_000.0 * (2.0 * std::f64::consts::PI * 440.0 * f64::from(i) / 16_000.0).sin()) as i16
        }));
        s.extend(vec![0i16; 8_000]);
        let p = from_bytes(wav_bytes(16_000, &s), 8_000).unwrap();
        assert_eq!(p.pcm.len(), 16_000);
        // Aligned: quiet before 0.5 s, loud in the middle, quiet after 1.5 s.
        assert!(rms(&p.pcm[..3_800]) < 50.0, "{}", rms(&p.pcm[..3_800]));
        let mid = rms(&p.pcm[4_400..11_600]);
        assert!((mid - 8_000.0 / 2f64.sqrt()).abs() < 300.0, "{mid}");
        assert!(rms(&p.pcm[12_200..]) < 50.0, "{}", rms(&p.pcm[12_200..]));
    }

    #[test]
    fn bad_files_are_named_with_what_is_wrong() {
        let missing = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/prompts/missing.wav");
        let e = load_prompt(&missing, 8_000).unwrap_err().to_string();
        assert!(
            e.contains("missing.wav") && e.contains("No such file"),
            "{e}"
        );

        let e = from_bytes(b"not audio at all".to_vec(), 8_000)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("mem.wav: wav:"), "{e}");

        // A stereo header: channels = 2 at byte 22, block align 4 at byte 32.
        let mut stereo = wav_bytes(8_000, &[0; 100]);
        stereo[22] = 2;
        stereo[32] = 4;
        stereo[28..32].copy_from_slice(&32_000u32.to_le_bytes());
        let e = from_bytes(stereo, 8_000).unwrap_err().to_string();
        assert!(
            e.contains("2 channel(s)") && e.contains("need 16-bit PCM mono"),
            "{e}"
        );

        let e = from_bytes(wav_bytes(11_025, &[1, 2, 3]), 8_000)
            .unwrap_err()
            .to_string();
        assert!(e.contains("11025 Hz is not supported"), "{e}");

        let e = from_bytes(wav_bytes(8_000, &[]), 8_000)
            .unwrap_err()
            .to_string();
        assert!(e.contains("holds no audio"), "{e}");
    }
}
