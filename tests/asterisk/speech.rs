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
    // The caller waits for the greeting, then asks. Two of the built-in
    // agent's person words ("person", "billing"): CI once had Whisper tiny
    // hear "transfer me to billing" without "billing", and the agent, given
    // no person word, only repeated the request back.
    let request = runtime.block_on(synthesize(
        &servers.tts_uri(),
        "please transfer me to a person in billing",
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
        words(text).iter().any(|w| w == "billing" || w == "person"),
        "Whisper heard no person word in {text:?}"
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

/// What Whisper made of each of the `turns` sentences in `said` (a 16 kHz
/// `.wav16`) spoken by a caller on a gateway using `media`, and how many
/// caller frames reached it at 16 kHz end to end.
fn transcript_over(
    media: Media,
    servers: &WyomingServers,
    said: &std::path::Path,
    turns: usize,
) -> (Vec<String>, f64) {
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
    let transcripts = || -> Vec<String> {
        rig.gw
            .events()
            .iter()
            .filter(|e| e["type"] == "stt.transcribed" && e["subject"] == id.as_str())
            .map(|e| e["data"]["text"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    // Two sentences heard as one turn never make `turns`: then what was
    // heard by the end of the recording counts.
    vg_testkit::wait_until(Duration::from_secs(60), || transcripts().len() >= turns);
    call.hangup().unwrap();
    rig.gw.until_type("call.ended", Some(&id), T);
    let wideband = rig.gw.metric("voicegw_media_wideband_frames_in_total");
    let texts = transcripts();
    rig.finish();
    (texts, wideband)
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

/// The same 16 kHz recording of three sentences, spoken by a caller whose
/// audio Asterisk plays as slin16: over AudioSocket slin16 it reaches Whisper
/// at 16 kHz (every frame, end to end), over UnicastRTP µ-law through 8 kHz.
/// The 16 kHz transcripts must be as accurate: at most 3 more of the 37
/// words missed, and at most a fifth in all. Not "at least as accurate": on
/// this Piper voice Whisper tiny's mistakes vary by up to three words from
/// run to run on either path (measured: RTP 1-6 missed, AudioSocket 2-4;
/// CI twice saw "Please send" heard as "Place in" at 16 kHz, and once
/// "shipment of fresh fish" as "shaman to fresh fish"), so a tighter
/// relative bound fails on that spread alone. Audio at the wrong rate or
/// garbled on the way misses most words and fails both bounds.
#[test]
fn the_16_khz_transcript_over_audiosocket_is_as_accurate_as_over_rtp() {
    let servers = WyomingServers::start_with(WyomingOptions {
        initial_prompt: None,
        ..WyomingOptions::default()
    })
    .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    // Sounds that µ-law's 4 kHz band blurs (s, f, th, sh), and Whisper
    // writes "sixty six" as digits.
    let said = [
        (
            "Please send the sixty six invoices to Steven's office in Sheffield by Thursday.",
            "Please send the 66 invoices to Steven's office in Sheffield by Thursday.",
        ),
        (
            "The shipment of fresh fish should reach the south side of the factory.",
            "The shipment of fresh fish should reach the south side of the factory.",
        ),
        (
            "Could you check whether my physiotherapy session is still set for Friday?",
            "Could you check whether my physiotherapy session is still set for Friday?",
        ),
    ];
    let mut pcm = wav::silence(Duration::from_secs(3), 16_000);
    for (sentence, _) in said {
        let spoken = runtime.block_on(synthesize(&servers.tts_uri(), sentence));
        pcm.extend(resample(&spoken.pcm, spoken.rate, 16_000));
        pcm.extend(wav::silence(Duration::from_secs(4), 16_000));
    }
    pcm.extend(wav::silence(Duration::from_secs(8), 16_000));
    let mut results = Vec::new();
    for media in [Media::Rtp, Media::AudioSocket] {
        // Each rig has its own sounds directory: the file goes into it.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("invoices.wav16");
        wav::write(&file, 16_000, &pcm).unwrap();
        let (texts, wideband) = transcript_over(media, &servers, &file, said.len());
        // Compared as one text: a sentence split in two turns, or two
        // merged in one, costs nothing of itself.
        let reference: Vec<String> = said.iter().flat_map(|(_, r)| words(r)).collect();
        let heard: Vec<String> = texts.iter().flat_map(|t| words(t)).collect();
        let (errors, total) = (missed(&reference, &heard), reference.len());
        eprintln!(
            "real Asterisk, Whisper over {media:?}: {texts:?} ({errors} of {total} words missed, \
             {wideband} caller frames at 16 kHz end to end)"
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
    let total = said.iter().map(|(_, r)| words(r).len()).sum::<usize>();
    assert!(
        results[1] <= results[0] + 3 && results[1] * 5 <= total,
        "AudioSocket slin16 missed {} of {total} words, RTP µ-law {}",
        results[1],
        results[0]
    );
}
