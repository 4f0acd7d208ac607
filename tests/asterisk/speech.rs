//! The embedded default's local engines (Whisper tiny.en, Piper) on a real
//! Asterisk call: the caller's spoken request is understood, the agent's Piper
//! answer reaches the caller whole (Piper runs far faster than real time: the
//! media leg must hold it back, not drop it), and the transfer it announces
//! lands in the dialplan.

#[allow(dead_code)] // shares the speech tests' helpers; not all are used here
#[path = "../speech/support.rs"]
mod support;

mod backchannel;
mod bench_turn;
mod screening;

use crate::{
    audio::{secs, sentences},
    calls::{DID, T},
    gateway::{GatewayConfig, ROUTES},
    rig::{Media, Rig, Setup},
};
use std::time::Duration;
use support::{PROMPT, resample, synthesize, transcribe, words};
use vg_testkit::{Caller, WyomingOptions, WyomingServers, wav};
use voice_gateway::application::ports::speech::SttSampleRate;

#[test]
fn a_spoken_request_is_understood_and_answered_with_piper() {
    let servers = WyomingServers::start_with(WyomingOptions {
        initial_prompt: Some(PROMPT.into()),
        ..WyomingOptions::default()
    })
    .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let rig = Rig::start_with(Setup {
        extensions: "[vg-transfer]\nexten => agents,1,Log(NOTICE,VG-TRANSFERRED ${CHANNEL})\n \
                     same => n,Answer()\n same => n,Goto(vg-caller,silence,1)\n"
            .into(),
        gateway: GatewayConfig {
            toml: ROUTES.into(),
            env: vec![
                ("VOICEGW__SPEECH__STT".into(), "wyoming".into()),
                ("VOICEGW__SPEECH__TTS".into(), "wyoming".into()),
                ("VOICEGW__SPEECH__WYOMING__STT".into(), servers.stt_uri()),
                ("VOICEGW__SPEECH__WYOMING__TTS".into(), servers.tts_uri()),
                (
                    "VOICEGW__SESSION__TRANSFER_CONTEXT".into(),
                    "vg-transfer".into(),
                ),
            ],
        },
        ..Setup::default()
    });
    // The caller waits for the greeting, then asks.
    let request = runtime.block_on(synthesize(
        &servers.tts_uri(),
        "please transfer me to billing",
    ));
    let mut pcm = wav::silence(Duration::from_secs(7), wav::RATE);
    pcm.extend(resample(&request.pcm, request.rate, wav::RATE));
    pcm.extend(wav::silence(Duration::from_secs(15), wav::RATE));
    let said = rig.ast.sounds_dir().join("billing.wav");
    wav::write(&said, wav::RATE, &pcm).unwrap();

    let call = rig.ast.call(Caller::play(DID, &said)).unwrap();
    let id = rig.gw.nth_call(0, T);
    let greeting = rig.gw.until_type("tts.generated", Some(&id), T);
    // The greeting must start before the caller's request at 7 s.
    assert!(
        greeting["data"]["audio_ms"].as_u64().unwrap_or(0) > 1000,
        "{greeting}"
    );
    let transcript = rig
        .gw
        .until_type("stt.transcribed", Some(&id), Duration::from_secs(60));
    let text = transcript["data"]["text"].as_str().unwrap_or_default();
    assert!(
        words(text)
            .iter()
            .any(|w| w == "billing" || w == "transfer"),
        "Whisper heard {text:?}"
    );
    let transferred = rig
        .gw
        .until_type("call.transferred", Some(&id), Duration::from_secs(60));
    assert!(
        vg_testkit::wait_until(T, || rig.ast.log_text().contains("VG-TRANSFERRED")),
        "the caller never reached [vg-transfer]: {transferred}"
    );
    call.hangup().unwrap();
    rig.gw.until_type("call.ended", Some(&id), T);
    let heard = call.heard(T).unwrap();
    let spans = sentences(&heard);
    let reply: Vec<i16> = {
        let from = (7.0 * f64::from(heard.rate)) as usize;
        heard.samples.get(from..).unwrap_or_default().to_vec()
    };
    let (understood, _) = runtime.block_on(transcribe(
        &servers.stt_uri(),
        &reply,
        SttSampleRate::Hz8000,
    ));
    eprintln!(
        "real Asterisk, Whisper + Piper: caller said {text:?}; heard after it {understood:?}; sound at {:?}",
        secs(&spans)
    );
    // The built-in agent's whole answer ("Let me transfer you to a person.
    // One moment, please.") reached the caller: its first and last words.
    let heard_words = words(&understood);
    assert!(
        heard_words.iter().any(|w| w == "transfer")
            && heard_words.iter().any(|w| w == "moment" || w == "please"),
        "the agent's answer reached the caller whole: {understood:?}"
    );
    // And as long as Piper made it: each utterance's extent in the caller's
    // recording against the audio the gateway reports (Piper pads each
    // sentence with a little silence, which the extent does not count).
    let spoken = rig.gw.spoken_ms(&id);
    let extents: Duration = heard
        .spans(crate::audio::SOUND_DBFS, Duration::from_millis(1500))
        .iter()
        .map(|(s, e)| *e - *s)
        .sum();
    assert!(
        extents.as_millis() as u64 * 10 >= spoken * 8,
        "the agent said {spoken} ms, the caller heard {extents:?} of it"
    );
    rig.finish();
}

/// What Whisper made of `said` (a 16 kHz `.wav16`) spoken by a caller on a
/// gateway using `media`, and how many caller frames reached it at 16 kHz
/// end to end.
fn transcript_over(
    media: Media,
    servers: &WyomingServers,
    said: &std::path::Path,
) -> (String, f64) {
    let rig = Rig::start_with(
        Setup {
            gateway: GatewayConfig {
                toml: format!("{ROUTES}greeting = \"Hi.\"\n"),
                env: vec![
                    ("VOICEGW__SPEECH__STT".into(), "wyoming".into()),
                    ("VOICEGW__SPEECH__TTS".into(), "wyoming".into()),
                    ("VOICEGW__SPEECH__WYOMING__STT".into(), servers.stt_uri()),
                    ("VOICEGW__SPEECH__WYOMING__TTS".into(), servers.tts_uri()),
                ],
            },
            ..Setup::default()
        }
        .over(media),
    );
    let call = rig.ast.call(Caller::play(DID, said)).unwrap();
    let id = rig.gw.nth_call(0, T);
    rig.assert_media_channel(media);
    let heard = rig
        .gw
        .until_type("stt.transcribed", Some(&id), Duration::from_secs(60));
    call.hangup().unwrap();
    rig.gw.until_type("call.ended", Some(&id), T);
    let wideband = rig.gw.metric("voicegw_media_wideband_frames_in_total");
    rig.finish();
    let text = heard["data"]["text"].as_str().unwrap_or_default();
    (text.to_owned(), wideband)
}

/// Words of `reference` missing from `heard`, in order (a simple
/// longest-common-subsequence count: substitutions and deletions).
fn missed(reference: &[String], heard: &[String]) -> usize {
    let mut row = vec![0usize; heard.len() + 1];
    for r in reference {
        let mut prev = 0;
        for (j, h) in heard.iter().enumerate() {
            let up = row[j + 1];
            row[j + 1] = if r == h {
                prev + 1
            } else {
                row[j + 1].max(row[j])
            };
            prev = up;
        }
    }
    reference.len() - row[heard.len()]
}

/// The same 16 kHz recording, spoken by a caller whose audio Asterisk plays
/// as slin16: over AudioSocket slin16 it reaches Whisper at 16 kHz, over
/// UnicastRTP µ-law through 8 kHz. The 16 kHz transcript must be at least
/// as accurate.
#[test]
fn the_16_khz_transcript_over_audiosocket_is_at_least_as_accurate_as_over_rtp() {
    let servers = WyomingServers::start_with(WyomingOptions {
        initial_prompt: None,
        ..WyomingOptions::default()
    })
    .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sentence =
        "Please send the sixty six invoices to Steven's office in Sheffield by Thursday.";
    let spoken = runtime.block_on(synthesize(&servers.tts_uri(), sentence));
    let mut pcm = wav::silence(Duration::from_secs(3), 16_000);
    pcm.extend(resample(&spoken.pcm, spoken.rate, 16_000));
    pcm.extend(wav::silence(Duration::from_secs(10), 16_000));
    // Whisper writes numbers as digits.
    let reference = words(&sentence.replace("sixty six", "66"));
    let mut results = Vec::new();
    for media in [Media::Rtp, Media::AudioSocket] {
        // Each rig has its own sounds directory: the file goes into it.
        let dir = tempfile::tempdir().unwrap();
        let said = dir.path().join("invoices.wav16");
        wav::write(&said, 16_000, &pcm).unwrap();
        let (text, wideband) = transcript_over(media, &servers, &said);
        let errors = missed(&reference, &words(&text));
        eprintln!(
            "real Asterisk, Whisper over {media:?}: {text:?} ({errors} of {} words missed, \
             {wideband} caller frames at 16 kHz end to end)",
            reference.len()
        );
        // Over AudioSocket slin16 the STT gets 16 kHz straight from the wire
        // (the whole call: several seconds, 50 frames a second); over RTP
        // µ-law it gets 8 kHz audio resampled.
        if media == Media::AudioSocket {
            assert!(wideband >= 100.0, "{wideband} wideband frames");
        } else {
            assert_eq!(wideband, 0.0);
        }
        results.push(errors);
    }
    assert!(
        results[1] <= results[0],
        "AudioSocket slin16 missed {} words, RTP µ-law {}",
        results[1],
        results[0]
    );
}
