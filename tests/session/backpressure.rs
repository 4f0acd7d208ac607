//! Agent audio produced much faster than real time (a local Piper voice) by
//! a leg that takes it only as it plays: nothing is dropped, the session
//! waits, and barge-in still cuts what waits upstream. The synthesiser is
//! asked for the wire's rate, not its voice's own.

use crate::{
    fakes::FakeMedia,
    harness::{Call, Options, start},
};
use std::{sync::Arc, time::Duration};
use voice_gateway::adapter::{
    orchestrator::{BuiltinAgent, OrchestratorConfig},
    speech::fake::{FakeTts, FakeTtsConfig, synthesize},
};

/// The voice's own rate (a Piper voice's).
const VOICE_RATE: u32 = 22_050;
/// The rate the session asks for: the wire's (µ-law, 8 kHz).
const RATE: u32 = 8_000;
const LEAD: Duration = Duration::from_secs(2);

/// A 20 s greeting, synthesised 1,000 times faster than real time in
/// 1024-sample chunks, to a leg with room for two chunks in its channel.
fn fast_call() -> Call {
    let greeting = "Thank you for calling the long line, please stay with us. ".repeat(6);
    let agent = BuiltinAgent::new(&OrchestratorConfig {
        greeting: Some(greeting),
        ..OrchestratorConfig::default()
    })
    .unwrap();
    start(Options {
        orchestrator: Some(Arc::new(agent)),
        tts: Some(FakeTts::new(FakeTtsConfig {
            sample_rate: VOICE_RATE,
            chunk: Duration::from_micros(46_440), // 1024 samples
            speedup: 1_000,
            first_audio_delay: Duration::from_millis(10),
            ..FakeTtsConfig::default()
        })),
        media: Some(FakeMedia {
            audio_capacity: 2,
            lead: Some(LEAD),
            ..FakeMedia::default()
        }),
        ..Options::default()
    })
}

/// Samples the fake synthesiser produced for everything it was asked.
fn synthesised(call: &Call) -> usize {
    let per_char = FakeTtsConfig::default().per_char;
    let texts = call.tts.log().texts;
    texts
        .iter()
        .map(|t| synthesize(t, RATE, per_char).len())
        .sum()
}

#[tokio::test(start_paused = true)]
async fn a_reply_faster_than_real_time_reaches_the_leg_whole() {
    let call = fast_call();
    call.until(
        |c| c.media.log.lock().unwrap().drained == 1,
        "greeting played",
    )
    .await;
    let log = call.media.log.lock().unwrap().clone();
    let expected = synthesised(&call);
    assert!(expected > RATE as usize * 15, "a long reply: {expected}");
    assert_eq!(log.pcm.len(), expected, "every sample reached the leg");
    assert!(log.rates.len() > 300, "{} chunks", log.rates.len());
    // Asked for linear PCM at the wire's rate: the leg resamples nothing.
    assert!(
        log.rates.iter().all(|&r| r == RATE),
        "rates {:?}",
        &log.rates[..3]
    );
    // The leg never held more than its lead and one chunk.
    assert!(
        log.max_ahead <= LEAD + Duration::from_millis(47),
        "{:?} ahead",
        log.max_ahead
    );
    assert!(
        call.types()
            .iter()
            .any(|t| t == "tts.generated" || t == "call.reply_finished")
    );
}

#[tokio::test(start_paused = true)]
async fn barge_in_cuts_the_audio_waiting_in_the_session_and_the_channel() {
    let call = fast_call();
    call.stt.expect_utterances(["please hold on"]);
    call.until(
        |c| c.media.log.lock().unwrap().played > Duration::from_secs(4),
        "greeting playing",
    )
    .await;
    call.speak(Duration::from_millis(600)).await;
    call.until_event("call.bargein").await;
    let at_flush = call.media.log.lock().unwrap().clone();
    assert_eq!(at_flush.flushes.len(), 1);
    // Long enough for the greeting's rest to have played, had it been sent.
    tokio::time::sleep(Duration::from_secs(30)).await;
    let log = call.media.log.lock().unwrap().clone();
    let greeting = at_flush.generations.iter().filter(|&&(g, _)| g == 0);
    let greeting: usize = greeting.map(|&(_, n)| n).sum();
    assert!(
        greeting < synthesised_greeting(&call) / 2,
        "the greeting was cut"
    );
    let after = &log.generations[at_flush.generations.len()..];
    assert!(
        after.iter().all(|&(g, _)| g >= 1),
        "nothing of the greeting after the flush: {after:?}"
    );
}

/// Samples of the greeting alone (the first text pieces, before the turn).
fn synthesised_greeting(call: &Call) -> usize {
    let per_char = FakeTtsConfig::default().per_char;
    let texts = call.tts.log().texts;
    texts
        .iter()
        .filter(|t| t.contains("long line"))
        .map(|t| synthesize(t, RATE, per_char).len())
        .sum()
}
