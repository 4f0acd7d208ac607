//! Pause-then-decide barge-in on the real Asterisk (issue 18, item 5): a
//! cough over the agent's sentence pauses it and the sentence resumes where
//! it stopped, complete; a real interruption still stops the agent within
//! the barge-in bound and is answered. What the caller heard is read from
//! its own recording. (The backchannel case, which needs a recogniser that
//! hears "mm-hmm", is in `speech::backchannel`.)

use crate::{
    audio::{SOUND_DBFS, secs, utterance},
    calls::{DID, T},
    rig::{Rig, Setup},
};
use std::{path::PathBuf, time::Duration};
use vg_testkit::{AsteriskServer, Caller, wav};

/// Word gaps of the fake voice (a space: 60 ms, ". ": 120 ms) are merged;
/// a barge-in hold's pause (the noise, plus the VAD's 160 ms) is longer.
const WORD_GAP: Duration = Duration::from_millis(200);

/// A cough-like burst: `burst` of white noise at about -17 dBFS, fading out
/// over its last quarter, after `before` of silence and before `after`.
pub(crate) fn cough(
    ast: &AsteriskServer,
    name: &str,
    before: Duration,
    burst: Duration,
    after: Duration,
) -> PathBuf {
    let rate = wav::RATE;
    let mut pcm = wav::silence(before, rate);
    let n = (burst.as_secs_f64() * f64::from(rate)) as usize;
    let fade = n / 4;
    let mut x: u32 = 0x2545_F491;
    pcm.extend((0..n).map(|i| {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let gain = if i + fade > n {
            (n - i) as f64 / fade as f64
        } else {
            1.0
        };
        ((f64::from(x % 16_001) - 8_000.0) * gain) as i16
    }));
    pcm.extend(wav::silence(after, rate));
    let path = ast.sounds_dir().join(format!("{name}.wav"));
    wav::write(&path, rate, &pcm).unwrap();
    path
}

/// The agent's sentence as the caller heard it around a hold.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Resumed {
    /// Onset of the caller's sound → the agent's audio stopped.
    pub(crate) stop: Duration,
    /// Onset → the agent's audio came back.
    pub(crate) resume: Duration,
    /// Agent audio heard, the pause left out.
    pub(crate) played: Duration,
}

/// Reads the first sentence in `heard` (sound spans less than 10 s apart:
/// the caller hangs up once it has been played out)
/// and its first pause of at least [`WORD_GAP`] ending after `onset`: the
/// hold. Panics, saying what was heard, when there is none.
pub(crate) fn resumed_sentence(heard: &wav::Wav, onset: Duration) -> Resumed {
    let spans = heard.spans(SOUND_DBFS, WORD_GAP);
    let first = spans.first().expect("the caller heard the agent");
    let mut end = first.1;
    let mut pause = None;
    for s in &spans[1..] {
        if s.0 - end > Duration::from_secs(10) {
            break;
        }
        if pause.is_none() && s.0 > onset {
            pause = Some((end, s.0));
        }
        end = s.1;
    }
    let (stopped, back) =
        pause.unwrap_or_else(|| panic!("no pause after the onset {onset:?}: {:?}", secs(&spans)));
    Resumed {
        stop: stopped.saturating_sub(onset),
        resume: back.saturating_sub(onset),
        played: end - first.0 - (back - stopped),
    }
}

/// The checks every resumed hold passes: the audio stopped at once, came
/// back within the 600 ms the issue asks, and the sentence was heard whole,
/// once (no restart from its beginning, nothing skipped). The stop is
/// measured in the recording, from a noise onset, and went from 80 to 160 ms
/// under a load average of 8 on two cores: the barge-in bound itself (150 ms
/// in a recording) is asserted by the interruption tests.
pub(crate) fn assert_resumed(r: &Resumed, audio_ms: u64) {
    assert!(r.stop <= Duration::from_millis(200), "{r:?}");
    assert!(r.resume <= Duration::from_millis(600), "{r:?}");
    let whole = Duration::from_millis(audio_ms);
    let off = r.played.abs_diff(whole);
    // A pause that falls in a word gap hides up to 120 ms of silence, and
    // the closing "." of the fake voice is silence inside `audio_ms`.
    assert!(
        off <= Duration::from_millis(160),
        "heard {:?} of a {whole:?} sentence: {r:?}",
        r.played
    );
}

/// The gateway's count of resumed holds for `reason`.
pub(crate) fn resumed_total(rig: &Rig, reason: &str) -> u64 {
    let (_, text) = rig.gw.get_text("/metrics");
    let prefix = format!("voicegw_bargein_resumed_total{{reason=\"{reason}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// The caller coughs 2 s into the greeting (about 4.6 s of the fake voice).
#[test]
fn a_cough_over_the_agent_pauses_it_and_the_sentence_resumes_where_it_stopped() {
    let rig = Rig::start_with(pause_mode());
    let said = cough(
        &rig.ast,
        "cough",
        Duration::from_secs(2),
        Duration::from_millis(200),
        Duration::from_secs(8),
    );
    let call = rig.ast.call(Caller::play(DID, &said)).unwrap();
    let id = rig.gw.nth_call(0, T);
    let greeting = rig.gw.until_type("tts.generated", Some(&id), T);
    let audio_ms = greeting["data"]["audio_ms"].as_u64().unwrap();
    call.hangup().unwrap();
    rig.gw.until_type("call.ended", Some(&id), T);
    let types = rig.gw.types_of(&id);
    assert!(
        !types.iter().any(|t| t == "call.bargein"),
        "a cough is no barge-in: {types:?}"
    );
    let (heard, spoke) = (call.heard(T).unwrap(), call.said(T).unwrap());
    let onset = wav::first_sound_after(&spoke.samples, spoke.rate, Duration::ZERO, SOUND_DBFS)
        .expect("the cough is in the caller's own recording");
    let r = resumed_sentence(&heard, onset);
    eprintln!(
        "real Asterisk, a 200 ms cough: agent audio stopped {:?} and resumed {:?} after the \
         onset; heard {:?} of a {audio_ms} ms greeting",
        r.stop, r.resume, r.played
    );
    assert_resumed(&r, audio_ms);
    assert_eq!(resumed_total(&rig, "noise"), 1);
    rig.finish();
}

/// The caller says a whole sentence (1.5 s of the harness's "speech") over
/// the greeting: the pause is the stop, the hold decides it is speech, the
/// greeting is cancelled (not resumed) and the caller's turn is answered.
#[test]
fn a_real_interruption_still_stops_the_agent_at_once_and_is_answered() {
    let rig = Rig::start_with(pause_mode());
    let speech_at = Duration::from_millis(2500);
    let speech = Duration::from_millis(1500);
    let said = utterance(
        &rig.ast,
        "interrupt",
        speech_at,
        speech,
        Duration::from_secs(10),
    );
    let call = rig.ast.call(Caller::play(DID, &said)).unwrap();
    let id = rig.gw.nth_call(0, T);
    let barge = rig.gw.until_type("call.bargein", Some(&id), T);
    let heard_said = rig.gw.until_type("stt.transcribed", Some(&id), T);
    assert_eq!(heard_said["data"]["text"], "utterance 1", "{heard_said}");
    rig.gw.until_count("tts.generated", &id, 2, T);
    call.hangup().unwrap();
    rig.gw.until_type("call.ended", Some(&id), T);
    let (heard, spoke) = (call.heard(T).unwrap(), call.said(T).unwrap());
    let onset = wav::first_sound_after(&spoke.samples, spoke.rate, Duration::ZERO, SOUND_DBFS)
        .expect("the caller's speech is in its own recording");
    let spans = heard.spans(SOUND_DBFS, Duration::from_millis(400));
    let talking = spans
        .iter()
        .find(|(start, end)| *start <= onset && *end > onset)
        .unwrap_or_else(|| panic!("the agent was silent at {onset:?}: {:?}", secs(&spans)));
    let stop = talking.1 - onset;
    let answer = spans.iter().find(|(start, _)| *start > talking.1);
    eprintln!(
        "real Asterisk, pause mode, a sentence over the agent: audio stopped {stop:?} after \
         the onset (call.bargein delay_ms {}), answer at {:?}",
        barge["data"]["delay_ms"],
        answer.map(|a| a.0)
    );
    assert!(
        stop <= Duration::from_millis(150),
        "the agent went on {stop:?}: {:?}",
        secs(&spans)
    );
    // Nothing of the greeting came back: the next sound is the answer,
    // after the caller's end of speech.
    let answer = answer.unwrap_or_else(|| panic!("no answer: {:?}", secs(&spans)));
    assert!(answer.0 > onset + speech, "{:?}", secs(&spans));
    assert_eq!(resumed_total(&rig, "noise"), 0);
    rig.finish();
}

/// The caller's line sends the agent's voice straight back (Asterisk's
/// `Echo()`, a speakerphone at its worst): the echo guard knows its own
/// voice, so the greeting plays out whole and unpaused, and no barge-in is
/// reported. (With `barge_in_mode = "cancel"`, or the guard off, the echo
/// cuts the greeting.)
#[test]
fn our_own_voice_echoed_back_does_not_interrupt_the_agent() {
    let mut setup = pause_mode();
    // The guard is off by default (it can take a caller for our echo).
    setup.gateway.env.push((
        "VOICEGW__SESSION__BARGE_IN_ECHO_GUARD".into(),
        "true".into(),
    ));
    let rig = Rig::start_with(setup);
    let call = rig
        .ast
        .call(Caller::echo(DID).max_duration(Duration::from_secs(20)))
        .unwrap();
    let id = rig.gw.nth_call(0, T);
    let greeting = rig.gw.until_type("tts.generated", Some(&id), T);
    let audio_ms = greeting["data"]["audio_ms"].as_u64().unwrap();
    call.hangup().unwrap();
    rig.gw.until_type("call.ended", Some(&id), T);
    let types = rig.gw.types_of(&id);
    assert!(
        !types.iter().any(|t| t == "call.bargein"),
        "our own echo is no barge-in: {types:?}"
    );
    let heard = call.heard(T).unwrap();
    let spans = heard.spans(SOUND_DBFS, WORD_GAP);
    let first = spans.first().expect("the caller heard the agent");
    let played = first.1 - first.0;
    eprintln!(
        "real Asterisk, the caller's line echoing: heard {played:?} of a {audio_ms} ms greeting \
         in one piece ({} onsets judged echo)",
        resumed_total(&rig, "echo")
    );
    assert!(
        // The fake voice's closing "." is silence inside `audio_ms`.
        played.abs_diff(Duration::from_millis(audio_ms)) <= Duration::from_millis(160),
        "the greeting was not heard whole and unpaused: {:?}",
        secs(&spans)
    );
    assert!(resumed_total(&rig, "echo") >= 1);
    rig.finish();
}

/// The gateway in pause mode (the default; said here so the tests do not
/// depend on it).
fn pause_mode() -> Setup {
    Setup {
        gateway: crate::gateway::GatewayConfig {
            env: vec![("VOICEGW__SESSION__BARGE_IN_MODE".into(), "pause".into())],
            ..Default::default()
        },
        ..Setup::default()
    }
}
