//! A backchannel over the agent on the real Asterisk: the caller says
//! "Okay." (Piper's voice) during the greeting; local Whisper transcribes
//! it, the hold finds only a backchannel word, and the greeting resumes
//! where it stopped. The agent speaks with the fake voice, so the sentence's
//! length is known exactly.
//!
//! Why not "mm-hmm": Piper (en_US-joe-medium) cannot hum it; it reads the
//! letters, and Whisper tiny.en hears its "Mm-hmm." as "in them them." (its
//! "Uh-huh." as "Oh."). "Okay." and "Yeah." it hears exactly. The hold's
//! word matching of "Mm-hmm."/"MMM." is in the core's tests (`hold.rs`).

use super::support::{resample, synthesize, transcribe};
use crate::{
    audio::SOUND_DBFS,
    calls::{DID, T},
    gateway::{GatewayConfig, ROUTES},
    hold::{assert_resumed, resumed_sentence, resumed_total},
    rig::{Rig, Setup},
};
use std::time::Duration;
use vg_testkit::{Caller, WyomingOptions, WyomingServers, wav};
use voice_gateway::application::ports::speech::SttSampleRate;

/// The hold's wait for the transcript in this test (the default is 3 s).
const DECIDE: &str = "10s";

#[test]
fn a_spoken_okay_over_the_agent_resumes_its_sentence() {
    let servers = WyomingServers::start_with(WyomingOptions::default()).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let rig = Rig::start_with(Setup {
        gateway: GatewayConfig {
            toml: ROUTES.into(),
            env: vec![
                ("VOICEGW__SPEECH__STT".into(), "wyoming".into()),
                ("VOICEGW__SPEECH__WYOMING__STT".into(), servers.stt_uri()),
                // Whisper's decode time follows the machine's load (1.8 s to
                // over 3 s here with other builds running): this test is
                // about what the transcript decides, so it may take its time.
                ("VOICEGW__SESSION__BARGE_IN_MODE".into(), "pause".into()),
                (
                    "VOICEGW__SESSION__BARGE_IN_DECIDE_TIMEOUT".into(),
                    DECIDE.into(),
                ),
            ],
        },
        ..Setup::default()
    });
    let mm = runtime.block_on(synthesize(&servers.tts_uri(), "Okay."));
    let mm = resample(&mm.pcm, mm.rate, wav::RATE);
    // Whisper's first decode loads its model: done here, not in the call.
    // It also says what Whisper makes of the clip.
    let (alone, took) = runtime.block_on(transcribe(
        &servers.stt_uri(),
        &resample(&mm, wav::RATE, 16_000),
        SttSampleRate::Hz16000,
    ));
    eprintln!("Whisper alone hears the clip as {alone:?} ({took:?})");
    let mut pcm = wav::silence(Duration::from_millis(1500), wav::RATE);
    pcm.extend(&mm);
    pcm.extend(wav::silence(Duration::from_secs(10), wav::RATE));
    let said = rig.ast.sounds_dir().join("okay.wav");
    wav::write(&said, wav::RATE, &pcm).unwrap();

    let call = rig.ast.call(Caller::play(DID, &said)).unwrap();
    let id = rig.gw.nth_call(0, T);
    let greeting = rig.gw.until_type("tts.generated", Some(&id), T);
    let audio_ms = greeting["data"]["audio_ms"].as_u64().unwrap();
    call.hangup().unwrap();
    rig.gw.until_type("call.ended", Some(&id), T);
    let events: Vec<_> = rig
        .gw
        .events()
        .into_iter()
        .filter(|e| e["subject"] == id.as_str())
        .map(|e| format!("{} {}", e["type"].as_str().unwrap_or_default(), e["data"]))
        .collect();
    for line in rig.gw.log() {
        if line.contains("barge-in hold") {
            eprintln!("gateway: {line}");
        }
    }
    assert!(
        !events.iter().any(|e| e.starts_with("call.bargein")),
        "a backchannel is no barge-in: {events:#?}"
    );
    let (heard, spoke) = (call.heard(T).unwrap(), call.said(T).unwrap());
    let onset = wav::first_sound_after(&spoke.samples, spoke.rate, Duration::ZERO, SOUND_DBFS)
        .expect("the caller's okay is in its own recording");
    let voiced = spoke.spans(SOUND_DBFS, Duration::from_millis(200));
    let r = resumed_sentence(&heard, onset);
    eprintln!(
        "real Asterisk, Whisper, a spoken okay ({:?}): agent audio stopped {:?} and resumed \
         {:?} after the onset; heard {:?} of a {audio_ms} ms greeting",
        voiced.first().map(|(a, b)| *b - *a),
        r.stop,
        r.resume,
        r.played
    );
    let okay = voiced.first().map_or(Duration::ZERO, |(a, b)| *b - *a);
    assert_resumed_backchannel(&r, okay, audio_ms);
    assert_eq!(resumed_total(&rig, "backchannel"), 1);
    rig.finish();
}

/// As [`assert_resumed`], the 600 ms counted from the end of the caller's
/// `okay` (its VAD hangover included): the agent plays on once the sound is
/// over, while Whisper's transcript (seconds on this CPU) is awaited, and
/// that transcript then only confirms a backchannel.
fn assert_resumed_backchannel(r: &crate::hold::Resumed, okay: Duration, audio_ms: u64) {
    let bound = crate::hold::Resumed {
        resume: r.resume.saturating_sub(okay),
        ..*r
    };
    assert_resumed(&bound, audio_ms);
}
