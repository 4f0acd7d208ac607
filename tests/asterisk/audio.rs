//! What test callers say, and reading what they heard.

use std::{path::PathBuf, time::Duration};
use vg_testkit::{AsteriskServer, wait_until, wav};

/// Level at or above which a 20 ms window of a recording counts as sound:
/// far above a quiet line, far below the fake voice and the caller's "speech".
pub(crate) const SOUND_DBFS: f64 = -45.0;

/// A stand-in for a caller's sentence, for the gateway's energy VAD and the
/// fake recogniser: `speech` of a 220 Hz tone (with two harmonics, like a
/// voice's) at -16 dBFS after `before` of silence, then `after` of silence.
pub(crate) fn utterance(
    ast: &AsteriskServer,
    name: &str,
    before: Duration,
    speech: Duration,
    after: Duration,
) -> PathBuf {
    let rate = wav::RATE;
    let mut pcm = wav::silence(before, rate);
    let voice: Vec<i16> = wav::tone(220.0, speech, rate, -18.0)
        .iter()
        .zip(wav::tone(440.0, speech, rate, -24.0))
        .zip(wav::tone(660.0, speech, rate, -28.0))
        .map(|((a, b), c)| a.saturating_add(b).saturating_add(c))
        .collect();
    pcm.extend(voice);
    pcm.extend(wav::silence(after, rate));
    let path = ast.sounds_dir().join(format!("{name}.wav"));
    wav::write(&path, rate, &pcm).unwrap();
    path
}

/// Spans of sound in a recording, gaps under 300 ms merged (words of one sentence).
pub(crate) fn sentences(w: &wav::Wav) -> Vec<(Duration, Duration)> {
    w.spans(SOUND_DBFS, Duration::from_millis(300))
}

/// Seconds with two decimals, for messages.
pub(crate) fn secs(spans: &[(Duration, Duration)]) -> Vec<(f64, f64)> {
    let r = |d: Duration| (d.as_secs_f64() * 100.0).round() / 100.0;
    spans.iter().map(|(a, b)| (r(*a), r(*b))).collect()
}

/// What a far end recorded by the dialplan heard: the one recording
/// `<prefix>*-rx.wav` in the recordings folder, once it is closed.
pub(crate) fn recorded_heard(ast: &AsteriskServer, prefix: &str, timeout: Duration) -> wav::Wav {
    let find = || -> Vec<PathBuf> {
        std::fs::read_dir(ast.recordings_dir())
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| {
                        p.file_name()
                            .and_then(|n| n.to_str())
                            .is_some_and(|n| n.starts_with(prefix) && n.ends_with("-rx.wav"))
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut files = Vec::new();
    let done = wait_until(timeout, || {
        files = find();
        files.len() == 1 && wav::is_complete(&files[0])
    });
    assert!(done, "the recording {prefix}*-rx.wav: {files:?}");
    wav::read(&files[0]).unwrap()
}
