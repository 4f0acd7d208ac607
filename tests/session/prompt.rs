//! The pre-recorded prompt played when every synthesiser of a call's chain
//! failed, on the paused clock.

use crate::{
    harness::{Call, Options, start},
    speech::{Speech, options, speech},
};
use std::{path::Path, time::Duration};
use voice_gateway::{
    adapter::speech::{
        fake::{FakeTtsFailure, rms},
        prompt::load_prompt,
    },
    application::{ports::speech::TtsError, session::SessionConfig},
};

fn prompt_config() -> SessionConfig {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/prompts/technical-difficulties.wav");
    SessionConfig {
        tts_failure_prompt: Some(load_prompt(&path, 8_000).unwrap()),
        ..SessionConfig::default()
    }
}

const FAILING_CHAIN: &str = "[[routes]]\ndid = \"+1555*\"\ntenant = \"acme\"\nagent = \"builtin\"\n\
                             tts = \"wyoming\"\ntts_fallback = [\"deepgram\"]\n";

/// Starts a call whose greeting every provider of the route's chain fails.
fn failing_call(s: &Speech) -> Call {
    for t in [&s.wyoming_tts, &s.deepgram_tts] {
        t.fail_next(FakeTtsFailure::Open(TtsError::Connect("down".into())));
    }
    start(Options {
        config: prompt_config(),
        ..options(s, FAILING_CHAIN)
    })
}

#[tokio::test(start_paused = true)]
async fn the_prompt_plays_in_place_of_speech_every_provider_failed() {
    let s = speech();
    let call = failing_call(&s);
    let prompt = prompt_config().tts_failure_prompt.unwrap();
    call.until_event("tts.generated").await;
    assert_eq!(call.count("error.tts_failed"), 1, "{:?}", call.types());
    assert_eq!(call.data("error.tts_failed")["prompt"], true);
    assert_eq!(
        call.data("error.tts_failed")["providers"],
        serde_json::json!(["wyoming", "deepgram"])
    );
    assert_eq!(
        (
            s.metrics.fallbacks("tts", "wyoming"),
            s.metrics.errors("tts", "deepgram")
        ),
        (1, 1)
    );
    {
        let log = call.media.log.lock().unwrap();
        // Exactly the prompt's samples, at the call's rate, and they are speech.
        assert_eq!(log.rates, [8_000]);
        assert_eq!(log.pcm.len(), prompt.pcm.len());
        assert!(log.pcm[..] == prompt.pcm[..], "the prompt's own samples");
        assert!(
            rms(&log.pcm) > 1000.0,
            "speech, not silence: {}",
            rms(&log.pcm)
        );
    }
    // It was played out before the agent listened again.
    let audio_ms = call.data("tts.generated")["audio_ms"].as_u64().unwrap();
    assert!((4_500..4_700).contains(&audio_ms), "{audio_ms}");

    // The call goes on: the next reply is spoken by the chain again.
    call.stt.expect_utterances(["are you there"]);
    call.speak(Duration::from_millis(800)).await;
    call.until(|c| c.count("tts.generated") == 2, "the reply played")
        .await;
    let spoken = [&s.wyoming_tts, &s.deepgram_tts]
        .iter()
        .flat_map(|t| t.log().texts)
        .any(|t| t.contains("You said: are you there"));
    assert!(spoken);
    assert_eq!(call.count("error.tts_failed"), 1);
}

#[tokio::test(start_paused = true)]
async fn the_caller_can_talk_over_the_prompt() {
    let s = speech();
    let call = failing_call(&s);
    call.until(
        |c| !c.media.log.lock().unwrap().pcm.is_empty(),
        "the prompt queued",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    call.speak(Duration::from_millis(600)).await;
    call.until_event("call.bargein").await;
    let flushes = call.media.log.lock().unwrap().flushes.clone();
    assert_eq!(flushes.len(), 1);
    assert!(
        flushes[0].sent < Duration::from_millis(2_000) && !flushes[0].dropped.is_zero(),
        "{flushes:?}"
    );
    assert_eq!(call.count("tts.generated"), 0, "{:?}", call.types());
}

#[tokio::test(start_paused = true)]
async fn speech_cut_short_by_failures_ends_with_the_prompt() {
    let s = speech();
    // The greeting starts on `wyoming`, which breaks after two chunks; the
    // chain's `deepgram` then refuses to open: every provider has failed.
    s.wyoming_tts.fail_next(FakeTtsFailure::AfterChunks(
        2,
        TtsError::Provider("boom".into()),
    ));
    s.deepgram_tts
        .fail_next(FakeTtsFailure::Open(TtsError::Connect("down".into())));
    let call = start(Options {
        config: prompt_config(),
        ..options(&s, FAILING_CHAIN)
    });
    let prompt = prompt_config().tts_failure_prompt.unwrap();
    call.until_event("tts.generated").await;
    assert_eq!(call.count("error.tts_failed"), 1, "{:?}", call.types());
    let log = call.media.log.lock().unwrap().clone();
    // Some of the greeting, then the whole prompt after it.
    assert!(log.pcm.len() > prompt.pcm.len(), "{}", log.pcm.len());
    assert!(log.pcm[log.pcm.len() - prompt.pcm.len()..] == prompt.pcm[..]);
    assert_eq!(log.rates.last(), Some(&8_000));
}
