use std::sync::Arc;
use std::time::Duration;

use super::*;

fn stt(queue: usize) -> (SttSession, SttProviderEnd) {
    SttSession::channel(SttConfig::new("en-US", SttSampleRate::Hz8000), queue)
}

fn tts() -> (TtsSession, TtsProviderEnd) {
    TtsSession::channel(TtsConfig {
        voice: None,
        language: "en-US".into(),
        output: TtsOutput::Native,
    })
}

fn final_event(text: &str) -> SttEvent {
    SttEvent::Final {
        text: text.into(),
        start: Duration::ZERO,
        end: Duration::from_millis(500),
        confidence: None,
    }
}

#[test]
fn the_ports_are_object_safe() {
    fn takes(_: Option<Arc<dyn SpeechToText>>, _: Option<Arc<dyn TextToSpeech>>) {}
    takes(None, None);
}

#[test]
fn a_slow_provider_drops_frames_but_finish_still_fits() {
    let (mut session, mut end) = stt(3);
    for _ in 0..3 {
        session.push_audio(vec![0i16; 160]).unwrap();
    }
    assert_eq!(
        session.push_audio(&[0i16; 160][..]),
        Err(SttError::Overrun { capacity: 3 })
    );
    assert_eq!(session.timing().dropped_frames, 1);
    assert_eq!(session.timing().samples, 480);
    session.finish().unwrap();
    // A second finish with no audio between is a no-op, not an error.
    session.finish().unwrap();
    let mut got = Vec::new();
    while let Ok(input) = end.input.try_recv() {
        got.push(input);
    }
    assert_eq!(got.len(), 4);
    assert_eq!(got[3], SttInput::Finish);
}

/// The media leg pushes through `audio()`: what it pushes counts in the
/// session's timing and drops, and re-arms `finish` as the session's own
/// pushes do, so every utterance still gets its `Finish`.
#[test]
fn audio_pushed_by_the_leg_counts_and_rearms_finish() {
    let (mut session, mut end) = stt(3);
    let leg = session.audio();
    leg.push(vec![0i16; 160]).unwrap();
    session.finish().unwrap();
    session.finish().unwrap();
    leg.push(vec![0i16; 160]).unwrap();
    session.finish().unwrap();
    let got: Vec<_> = std::iter::from_fn(|| end.input.try_recv().ok()).collect();
    assert_eq!(
        got.iter().filter(|i| **i == SttInput::Finish).count(),
        2,
        "{got:?}"
    );
    assert_eq!(got.last(), Some(&SttInput::Finish));
    // Full up to the slot kept for `finish`: the leg's push is dropped.
    leg.push(vec![0i16; 160]).unwrap();
    leg.push(vec![0i16; 160]).unwrap();
    leg.push(vec![0i16; 160]).unwrap();
    assert_eq!(
        leg.push(vec![0i16; 160]),
        Err(SttError::Overrun { capacity: 3 })
    );
    let timing = session.timing();
    assert_eq!((timing.samples, timing.dropped_frames), (800, 1));
    assert!(timing.first_audio_at.is_some());
    session.finish().unwrap();
    drop(end);
    assert_eq!(leg.push(vec![0i16; 160]), Err(SttError::Closed));
}

#[tokio::test(start_paused = true)]
async fn stt_timing_measures_first_result_and_finish_to_final() {
    let (mut session, end) = stt(10);
    session.push_audio(vec![1i16; 160]).unwrap();
    tokio::time::advance(Duration::from_millis(300)).await;
    session.finish().unwrap();
    tokio::time::advance(Duration::from_millis(150)).await;
    end.events.send(final_event("hello")).await.unwrap();
    assert_eq!(session.recv().await, Some(final_event("hello")));
    let timing = session.timing();
    assert_eq!(
        timing.time_to_first_result(),
        Some(Duration::from_millis(450))
    );
    assert_eq!(timing.finish_to_final(), Some(Duration::from_millis(150)));
}

#[tokio::test]
async fn stt_cancel_discards_events_and_tells_the_provider() {
    let (mut session, end) = stt(10);
    end.events.send(final_event("a")).await.unwrap();
    session.cancel();
    assert_eq!(session.recv().await, None);
    assert!(!session.is_active());
    tokio::time::timeout(Duration::from_secs(5), end.events.closed())
        .await
        .expect("the provider sees the cancel");
    assert_eq!(session.push_audio(vec![0i16; 4]), Err(SttError::Closed));
}

#[tokio::test]
async fn a_vanished_stt_provider_is_an_error_once() {
    let (mut session, end) = stt(10);
    drop(end);
    assert_eq!(
        session.recv().await,
        Some(SttEvent::Error(SttError::Closed))
    );
    assert_eq!(session.recv().await, None);
}

#[tokio::test(start_paused = true)]
async fn tts_pieces_are_numbered_and_timed_until_done() {
    let (mut session, mut end) = tts();
    assert_eq!(session.send_text("Hello there."), Ok(0));
    assert_eq!(session.send_text("How can I help?"), Ok(1));
    session.finish().unwrap();
    assert_eq!(session.send_text("late"), Err(TtsError::Closed));
    let first = end.input.recv().await.unwrap();
    assert_eq!(
        first,
        TtsInput::Text {
            piece: 0,
            text: "Hello there.".into()
        }
    );
    tokio::time::advance(Duration::from_millis(80)).await;
    let chunk = TtsChunk {
        audio: TtsAudio::Linear16(vec![100; 2400]),
        sample_rate: 24_000,
        piece: 0,
    };
    end.events
        .send(TtsEvent::Audio(chunk.clone()))
        .await
        .unwrap();
    end.events.send(TtsEvent::Done).await.unwrap();
    assert_eq!(session.recv().await, Some(TtsEvent::Audio(chunk)));
    assert_eq!(session.recv().await, Some(TtsEvent::Done));
    assert_eq!(session.recv().await, None);
    let timing = session.timing();
    assert_eq!(
        timing.time_to_first_audio(),
        Some(Duration::from_millis(80))
    );
    assert_eq!(timing.audio, Duration::from_millis(100));
}

#[tokio::test]
async fn tts_cancel_delivers_nothing_more_even_if_buffered() {
    let (mut session, end) = tts();
    session.send_text("a long sentence").unwrap();
    for _ in 0..5 {
        let chunk = TtsChunk {
            audio: TtsAudio::Mulaw(vec![0xff; 160]),
            sample_rate: 8_000,
            piece: 0,
        };
        end.events.send(TtsEvent::Audio(chunk)).await.unwrap();
    }
    session.cancel();
    assert_eq!(session.recv().await, None);
    assert!(end.events.send(TtsEvent::Done).await.is_err());
    assert_eq!(session.send_text("more"), Err(TtsError::Closed));
}

#[test]
fn tts_text_queue_is_bounded_and_finish_still_fits() {
    let (mut session, _end) = tts();
    let mut accepted = 0;
    while session.send_text("x").is_ok() {
        accepted += 1;
    }
    assert_eq!(accepted, 32);
    assert_eq!(session.finish(), Ok(()));
}
