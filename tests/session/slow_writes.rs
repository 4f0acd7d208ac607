//! A slow store and a slow event publisher (500 ms per write: a congested
//! Redis or broker) delay the call's writes, never its audio: barge-in cuts
//! the agent as soon as with instant writes, agent audio reaches the leg
//! without gaps, and the events are the same, in the same order.

use crate::{
    fakes::FakeMedia,
    harness::{Call, Options, start},
};
use std::{sync::Arc, time::Duration};
use tokio::time::Instant;
use voice_gateway::{
    adapter::{
        orchestrator::{BuiltinAgent, OrchestratorConfig},
        speech::fake::{FakeStt, FakeSttConfig},
    },
    application::{
        ports::{
            media::{CallerAudio, MediaEvent},
            speech::SttError,
        },
        session::SessionCommand,
    },
};

const SLOW: Duration = Duration::from_millis(500);

/// What a call did with its writes taking `write_delay` each.
#[derive(Debug)]
struct Figures {
    /// From the caller's speech onset to the flush reaching the leg.
    flush_delay: Duration,
    /// Times the leg ran dry before the end of the agent's speech.
    gaps: Vec<Duration>,
    /// The events written when the flush reached the leg (within 5 ms).
    written_at_flush: Vec<String>,
    types: Vec<String>,
    bargein: serde_json::Value,
    barge_in_delays_ms: Vec<f64>,
}

/// The greeting plays through a leg that takes audio only as it plays (so
/// pacing depends on the session feeding it); mid-greeting a recognition
/// failure is reported (`error.stt_failed`, a write while the agent
/// speaks), then the caller talks over the agent.
async fn barge_in_with_writes_taking(write_delay: Duration) -> Figures {
    let stt = FakeStt::new(FakeSttConfig {
        trailing_silence: None,
        ..Default::default()
    });
    stt.fail_after_frames(1, SttError::Provider("connection reset".into()));
    let greeting = "Thank you for calling the long line, please stay with us. ".repeat(3);
    let agent = BuiltinAgent::new(&OrchestratorConfig {
        greeting: Some(greeting),
        ..OrchestratorConfig::default()
    })
    .unwrap();
    let mut call = start(Options {
        orchestrator: Some(Arc::new(agent)),
        stt: Some(stt),
        media: Some(FakeMedia {
            audio_capacity: 1,
            lead: Some(Duration::from_millis(100)),
            ..FakeMedia::default()
        }),
        write_delay,
        ..Options::default()
    });
    call.stt.expect_utterances(["please hold on"]);
    call.until(
        |c| c.media.log.lock().unwrap().played > Duration::from_secs(1),
        "greeting playing",
    )
    .await;
    caller_noise(&call).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let onset = Instant::now();
    // The events written when the flush reached the leg, taken as it does.
    let (_, written_at_flush) = tokio::join!(call.speak(Duration::from_millis(600)), async {
        call.until(|c| !c.media.log.lock().unwrap().flushes.is_empty(), "flush")
            .await;
        call.types()
    });
    let flushed_at = call.media.log.lock().unwrap().flushed_at[0];
    // The caller hangs up at the same moment whatever the writes take.
    tokio::time::sleep_until(onset + Duration::from_secs(6)).await;
    call.commands
        .send(SessionCommand::CallerGone)
        .await
        .unwrap();
    let ended = call.ended().await;
    let types = call.types();
    let log = call.media.log.lock().unwrap().clone();
    Figures {
        flush_delay: flushed_at - onset,
        gaps: log.gaps,
        written_at_flush,
        bargein: call.data("call.bargein"),
        types,
        barge_in_delays_ms: ended.barge_in_delays_ms,
    }
}

/// One caller frame the VAD does not count as speech: enough for the
/// recogniser to fail.
async fn caller_noise(call: &Call) {
    let tx = call.media.caller.lock().unwrap().clone().unwrap();
    let frame = CallerAudio {
        pcm: vec![0; 320],
        rate: 16_000,
        at: Instant::now().into_std(),
    };
    tx.send(MediaEvent::Audio(frame)).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn slow_writes_delay_neither_barge_in_nor_pacing() {
    let fast = barge_in_with_writes_taking(Duration::ZERO).await;
    let slow = barge_in_with_writes_taking(SLOW).await;
    eprintln!("instant writes: {fast:?}");
    eprintln!("500 ms writes: {slow:?}");
    for f in [&fast, &slow] {
        assert!(
            f.flush_delay <= Duration::from_millis(5),
            "the flush reached the leg {:?} after the onset",
            f.flush_delay
        );
        assert!(f.gaps.is_empty(), "agent audio ran dry: {:?}", f.gaps);
    }
    // The writes really were pending at the flush: `error.stt_failed`,
    // reported just before the caller spoke, was not written yet.
    assert!(
        fast.written_at_flush
            .iter()
            .any(|t| t == "error.stt_failed"),
        "{fast:?}"
    );
    assert!(
        !slow
            .written_at_flush
            .iter()
            .any(|t| t == "error.stt_failed"),
        "{slow:?}"
    );
    assert_eq!(slow.flush_delay, fast.flush_delay);
    // The same call, seen from outside: events in the same order, with the
    // same barge-in figures, `call.ended` written before the session's end.
    assert_eq!(slow.types, fast.types);
    assert_eq!(slow.types.last().map(String::as_str), Some("call.ended"));
    assert_eq!(slow.bargein, fast.bargein);
    assert_eq!(slow.barge_in_delays_ms, fast.barge_in_delays_ms);
    assert_eq!(slow.barge_in_delays_ms, [0.0]);
}
