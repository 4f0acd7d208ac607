//! Tests with synthetic time and synthetic or recorded audio.

use std::time::{Duration, Instant};

use super::{
    EarshotConfig, EarshotVad, EnergyConfig, EnergyVad, FrameClassifier, Vad, VadConfig, VadEvent,
    VoiceActivityDetector,
};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A classifier that says what it is told, frame by frame.
struct Script(std::vec::IntoIter<bool>);

impl FrameClassifier for Script {
    fn is_speech(&mut self, _: &[i16], _: u32) -> bool {
        self.0.next().unwrap_or(false)
    }
    fn reset(&mut self) {}
}

fn scripted(pattern: &str) -> Vad<Script> {
    let v: Vec<bool> = pattern
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c == 'S')
        .collect();
    Vad::with_classifier(VadConfig::default(), Script(v.into_iter()))
}

fn events(vad: &mut impl VoiceActivityDetector) -> Vec<VadEvent> {
    std::iter::from_fn(|| vad.poll_event()).collect()
}

/// Feeds `n` contiguous 20 ms frames from `start`.
fn frames(vad: &mut impl VoiceActivityDetector, start: Instant, n: u32) {
    for i in 0..n {
        vad.handle_frame(start + ms(20) * i, &[0; 160], 8000);
    }
}

#[test]
fn onset_needs_consecutive_frames_and_reports_the_first() {
    let t0 = Instant::now();
    let mut vad = scripted("S S . S S S");
    frames(&mut vad, t0, 4);
    assert!(events(&mut vad).is_empty() && !vad.is_speech());
    frames(&mut vad, t0 + ms(80), 2);
    assert_eq!(
        events(&mut vad),
        [VadEvent::SpeechStart { at: t0 + ms(60) }]
    );
    assert!(vad.is_speech());
}

#[test]
fn speech_ends_on_the_clock_when_frames_stop() {
    let t0 = Instant::now();
    let mut vad = scripted("SSSSS");
    frames(&mut vad, t0, 5);
    assert_eq!(events(&mut vad), [VadEvent::SpeechStart { at: t0 }]);
    // Asterisk stops sending: no more frames, only the clock.
    let last_end = t0 + ms(100);
    // A pause first (a recogniser may start decoding), then the end.
    assert_eq!(vad.poll_timeout(), Some(last_end + ms(160)));
    vad.handle_timeout(last_end + ms(159));
    assert!(events(&mut vad).is_empty());
    vad.handle_timeout(last_end + ms(160));
    assert_eq!(events(&mut vad), [VadEvent::SpeechPause { at: last_end }]);
    assert_eq!(vad.poll_timeout(), Some(last_end + ms(300)));
    vad.handle_timeout(last_end + ms(299));
    assert!(events(&mut vad).is_empty());
    vad.handle_timeout(last_end + ms(300));
    assert_eq!(events(&mut vad), [VadEvent::SpeechEnd { at: last_end }]);
    assert_eq!(vad.poll_timeout(), None);
}

#[test]
fn pause_shorter_than_the_hangover_does_not_end_speech() {
    let t0 = Instant::now();
    // 3 speech, 10 quiet frames (200 ms), 3 speech: a pause is reported
    // (160 ms after the last speech frame), then speech goes on.
    let mut vad = scripted("SSS .......... SSS");
    frames(&mut vad, t0, 16);
    assert_eq!(
        events(&mut vad),
        [
            VadEvent::SpeechStart { at: t0 },
            VadEvent::SpeechPause { at: t0 + ms(60) },
            VadEvent::SpeechStart { at: t0 + ms(260) },
        ]
    );
    // A gap between words (100 ms) is not a pause.
    let mut vad = scripted("SSS ..... SSS");
    frames(&mut vad, t0, 11);
    assert_eq!(events(&mut vad), [VadEvent::SpeechStart { at: t0 }]);
    let mut vad = scripted("SSS .......... SSS");
    frames(&mut vad, t0, 16);
    events(&mut vad);
    vad.handle_timeout(t0 + ms(320) + ms(300));
    assert_eq!(
        events(&mut vad),
        [
            VadEvent::SpeechPause { at: t0 + ms(320) },
            VadEvent::SpeechEnd { at: t0 + ms(320) }
        ]
    );
}

#[test]
fn a_gap_in_frames_breaks_the_onset_run() {
    let t0 = Instant::now();
    let mut vad = scripted("SSSS");
    frames(&mut vad, t0, 2);
    // Asterisk stopped for a second: the next two frames are a fresh run.
    frames(&mut vad, t0 + ms(1000), 2);
    assert!(events(&mut vad).is_empty());
    let mut vad = scripted("SSSSSS");
    frames(&mut vad, t0, 2);
    frames(&mut vad, t0 + ms(1000), 3);
    assert_eq!(
        events(&mut vad),
        [VadEvent::SpeechStart { at: t0 + ms(1000) }]
    );
}

#[test]
fn a_frame_after_the_hangover_ends_speech_before_counting() {
    let t0 = Instant::now();
    let mut vad = Vad::with_classifier(
        VadConfig {
            onset_frames: 1,
            ..VadConfig::default()
        },
        Script(vec![true; 4].into_iter()),
    );
    frames(&mut vad, t0, 1);
    // No timeout call in between; the next frame comes 2 s later.
    frames(&mut vad, t0 + ms(2000), 1);
    assert_eq!(
        events(&mut vad),
        [
            VadEvent::SpeechStart { at: t0 },
            VadEvent::SpeechPause { at: t0 + ms(20) },
            VadEvent::SpeechEnd { at: t0 + ms(20) },
            VadEvent::SpeechStart { at: t0 + ms(2000) }
        ]
    );
}

/// Deterministic white noise of RMS about `amplitude`.
fn noise(seed: &mut u32, amplitude: f32) -> i16 {
    *seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
    let u = (*seed >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0;
    (u * amplitude * 1.73) as i16
}

/// Runs `signal` (a function of the sample index) through `vad` in 20 ms
/// frames, calling the timeout at every frame time; returns the events.
fn run_signal(
    vad: &mut impl VoiceActivityDetector,
    t0: Instant,
    rate: u32,
    seconds: u32,
    mut signal: impl FnMut(usize) -> i16,
) -> Vec<VadEvent> {
    let n = (rate / 50) as usize;
    let mut frame = vec![0i16; n];
    let mut out = Vec::new();
    for f in 0..seconds * 50 {
        let at = t0 + ms(20) * f;
        vad.handle_timeout(at);
        for (i, s) in frame.iter_mut().enumerate() {
            *s = signal(f as usize * n + i);
        }
        vad.handle_frame(at, &frame, rate);
        out.extend(std::iter::from_fn(|| vad.poll_event()));
    }
    while let Some(t) = vad.poll_timeout() {
        vad.handle_timeout(t);
        out.extend(std::iter::from_fn(|| vad.poll_event()));
    }
    segments_only(out)
}

/// Starts and ends of speech: pauses, and speech going on after one, dropped.
fn segments_only(events: Vec<VadEvent>) -> Vec<VadEvent> {
    let mut speaking = false;
    events
        .into_iter()
        .filter(|e| match e {
            VadEvent::SpeechStart { .. } => !std::mem::replace(&mut speaking, true),
            VadEvent::SpeechPause { .. } => false,
            VadEvent::SpeechEnd { .. } => {
                speaking = false;
                true
            }
        })
        .collect()
}

#[test]
fn energy_finds_tone_bursts_in_noise_at_8_and_16_khz() {
    for rate in [8000u32, 16000] {
        let t0 = Instant::now();
        let mut vad = EnergyVad::new(VadConfig::default(), EnergyConfig::default());
        let mut seed = 1;
        // Noise around -50 dBFS; 400 ms bursts of a 440 Hz tone at about -15 dBFS
        // starting at 1.0 s and 2.4 s (frame-aligned).
        let events = run_signal(&mut vad, t0, rate, 4, |i| {
            let t = i as f32 / rate as f32;
            let n = noise(&mut seed, 100.0);
            let burst = (1.0..1.4).contains(&t) || (2.4..2.8).contains(&t);
            let tone = if burst {
                6000.0 * (std::f32::consts::TAU * 440.0 * t).sin()
            } else {
                0.0
            };
            n.saturating_add(tone as i16)
        });
        assert_eq!(
            events,
            [
                VadEvent::SpeechStart { at: t0 + ms(1000) },
                VadEvent::SpeechEnd { at: t0 + ms(1400) },
                VadEvent::SpeechStart { at: t0 + ms(2400) },
                VadEvent::SpeechEnd { at: t0 + ms(2800) },
            ],
            "at {rate} Hz"
        );
        let floor = vad.classifier().noise_floor_dbfs();
        assert!((-55.0..-45.0).contains(&floor), "floor {floor} dBFS");
    }
}

#[test]
fn energy_ignores_silence_and_learns_steady_noise() {
    let t0 = Instant::now();
    let mut vad = EnergyVad::new(VadConfig::default(), EnergyConfig::default());
    assert!(run_signal(&mut vad, t0, 8000, 2, |_| 0).is_empty());
    // Steady fan noise at about -30 dBFS: may trip at first, but the floor
    // catches up and speech ends; after that it stays quiet.
    let mut seed = 7;
    let events = run_signal(&mut vad, t0 + ms(2000), 8000, 20, |_| {
        noise(&mut seed, 1000.0)
    });
    assert!(events.len() <= 2, "{events:?}");
    assert!(!vad.is_speech());
    assert!(vad.classifier().noise_floor_dbfs() > -35.0);
}

/// A caller heard only while talking (Asterisk's two-party bridge sends
/// nothing in silence): twenty one-second answers, three seconds apart, with
/// no frame in between. Each must be heard; before gaps counted as silence,
/// the floor climbed into the speech after about six and the call went deaf.
#[test]
fn energy_hears_every_talkspurt_when_silence_is_not_sent() {
    for rate in [8000u32, 16000] {
        let t0 = Instant::now();
        let mut vad = EnergyVad::new(VadConfig::default(), EnergyConfig::default());
        let n = (rate / 50) as usize;
        let mut seed = 3;
        let mut frame = vec![0i16; n];
        let mut starts = 0;
        for k in 0..20u32 {
            let spurt = t0 + ms(4000) * k;
            for f in 0..50u32 {
                let at = spurt + ms(20) * f;
                vad.handle_timeout(at);
                for (i, s) in frame.iter_mut().enumerate() {
                    let t = (f as usize * n + i) as f32 / rate as f32;
                    let tone = 6000.0 * (std::f32::consts::TAU * 300.0 * t).sin();
                    *s = noise(&mut seed, 300.0).saturating_add(tone as i16);
                }
                vad.handle_frame(at, &frame, rate);
                starts += std::iter::from_fn(|| vad.poll_event())
                    .filter(|e| matches!(e, VadEvent::SpeechStart { .. }))
                    .count();
            }
            vad.handle_timeout(spurt + ms(1000) + ms(400));
            assert!(!vad.is_speech(), "talkspurt {k} at {rate} Hz never ended");
            let _ = std::iter::from_fn(|| vad.poll_event()).count();
            assert_eq!(
                starts,
                k as usize + 1,
                "talkspurt {k} at {rate} Hz not heard"
            );
        }
        let floor = vad.classifier().noise_floor_dbfs();
        assert!(floor < -40.0, "floor {floor} dBFS rose into the speech");
    }
}

fn speech_16k() -> Vec<i16> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/speech-en-16k.wav");
    let mut reader = hound::WavReader::open(path).expect(path);
    assert_eq!(reader.spec().sample_rate, 16000);
    reader.samples::<i16>().map(Result::unwrap).collect()
}

/// 1 s of quiet noise, the espeak-ng sentence, 1.5 s of quiet noise, the
/// sentence again, 1 s of quiet noise; returns the signal and where speech is.
fn conversation(rate: u32) -> (Vec<i16>, [(Duration, Duration); 2]) {
    let mut speech = speech_16k();
    if rate == 8000 {
        // Crude half-band decimation, good enough for a test signal.
        speech = speech
            .chunks(2)
            .map(|c| ((i32::from(c[0]) + i32::from(*c.last().unwrap())) / 2) as i16)
            .collect();
    }
    let mut seed = 3;
    let mut quiet = |secs: f32| -> Vec<i16> {
        (0..(secs * rate as f32) as usize)
            .map(|_| noise(&mut seed, 30.0))
            .collect()
    };
    let len = Duration::from_secs_f32(speech.len() as f32 / rate as f32);
    let mut signal = quiet(1.0);
    signal.extend_from_slice(&speech);
    signal.extend(quiet(1.5));
    signal.extend_from_slice(&speech);
    signal.extend(quiet(1.0));
    let first = (ms(1000), ms(1000) + len);
    let second = (first.1 + ms(1500), first.1 + ms(1500) + len);
    (signal, [first, second])
}

/// Speech found by `vad` as (start, end) offsets from t0.
fn segments(
    vad: &mut impl VoiceActivityDetector,
    signal: &[i16],
    rate: u32,
) -> Vec<(Duration, Duration)> {
    let t0 = Instant::now();
    let seconds = (signal.len() as u32).div_ceil(rate);
    let events = run_signal(vad, t0, rate, seconds, |i| {
        signal.get(i).copied().unwrap_or(0)
    });
    let mut out = Vec::new();
    let mut start = None;
    for e in events {
        match e {
            // Speech going on after a pause is the same segment.
            VadEvent::SpeechStart { at } => start = start.or(Some(at - t0)),
            VadEvent::SpeechPause { .. } => {}
            VadEvent::SpeechEnd { at } => out.push((start.take().unwrap(), at - t0)),
        }
    }
    out
}

/// Every true utterance is covered by a detected segment starting within
/// `slack` of it; nothing is detected outside the utterances (± slack).
fn assert_matches(found: &[(Duration, Duration)], truth: &[(Duration, Duration)], slack: Duration) {
    for (s, e) in truth {
        assert!(
            found
                .iter()
                .any(|(fs, fe)| *fs <= *s + slack && *fs + slack >= *s && *fe + slack >= *e),
            "utterance {s:?}..{e:?} not found in {found:?}"
        );
    }
    for (fs, fe) in found {
        assert!(
            truth
                .iter()
                .any(|(s, e)| *fs + slack >= *s && *fe <= *e + slack),
            "false speech {fs:?}..{fe:?} (truth {truth:?})"
        );
    }
}

#[test]
fn earshot_finds_real_speech_at_16_and_8_khz() {
    for rate in [16000, 8000] {
        let (signal, truth) = conversation(rate);
        let mut vad = EarshotVad::new(VadConfig::default(), EarshotConfig::default());
        let found = segments(&mut vad, &signal, rate);
        assert_matches(&found, &truth, ms(200));
    }
}

#[test]
fn energy_finds_real_speech_too() {
    let (signal, truth) = conversation(8000);
    let mut vad = EnergyVad::new(VadConfig::default(), EnergyConfig::default());
    let found = segments(&mut vad, &signal, 8000);
    assert_matches(&found, &truth, ms(200));
}

#[test]
fn earshot_stays_quiet_on_silence_and_noise() {
    let mut vad = EarshotVad::new(VadConfig::default(), EarshotConfig::default());
    let mut seed = 9;
    let t0 = Instant::now();
    assert!(run_signal(&mut vad, t0, 16000, 2, |_| 0).is_empty());
    let events = run_signal(&mut vad, t0 + ms(2000), 8000, 3, |_| {
        noise(&mut seed, 300.0)
    });
    assert!(events.is_empty(), "{events:?}");
}

#[test]
fn detectors_do_not_allocate_per_frame() {
    let t0 = Instant::now();
    let mut energy = EnergyVad::new(VadConfig::default(), EnergyConfig::default());
    let mut neural = EarshotVad::new(VadConfig::default(), EarshotConfig::default());
    let speech = speech_16k();
    let mut events = 0;
    let info = allocation_counter::measure(|| {
        for (i, frame) in speech.chunks_exact(320).enumerate() {
            let at = t0 + ms(20) * i as u32;
            energy.handle_frame(at, &frame[..160], 8000);
            neural.handle_frame(at, frame, 16000);
            neural.handle_timeout(at);
            while energy
                .poll_event()
                .or_else(|| neural.poll_event())
                .is_some()
            {
                events += 1;
            }
        }
    });
    assert_eq!(info.count_total, 0);
    assert!(events > 0);
}
