use std::time::Duration;

use tokio::time::{Instant, timeout};

use super::*;
use crate::application::ports::speech::{
    TextToSpeech, TtsAudio, TtsChunk, TtsConfig, TtsError, TtsEvent, TtsOutput, TtsSession,
};

fn config(output: TtsOutput) -> TtsConfig {
    TtsConfig {
        voice: Some("test".into()),
        language: "en-US".into(),
        output,
    }
}

async fn next(session: &mut TtsSession) -> Option<TtsEvent> {
    timeout(Duration::from_secs(60), session.recv())
        .await
        .expect("an event in time")
}

/// Every chunk until `Done`; panics on an error.
async fn all_chunks(session: &mut TtsSession) -> Vec<TtsChunk> {
    let mut chunks = Vec::new();
    loop {
        match next(session).await {
            Some(TtsEvent::Audio(chunk)) => chunks.push(chunk),
            Some(TtsEvent::Done) => return chunks,
            other => panic!("unexpected {other:?}"),
        }
    }
}

fn pcm(chunks: &[TtsChunk]) -> Vec<i16> {
    let mut out = Vec::new();
    for c in chunks {
        let TtsAudio::Linear16(s) = &c.audio else {
            panic!("not linear")
        };
        out.extend_from_slice(s);
    }
    out
}

#[tokio::test(start_paused = true)]
async fn speaks_audible_audio_sized_by_text_faster_than_real_time() {
    let tts = FakeTts::new(FakeTtsConfig::default());
    let mut session = tts.open(config(TtsOutput::Native)).await.unwrap();
    let started = Instant::now();
    assert_eq!(session.send_text("Hello world."), Ok(0));
    assert_eq!(session.send_text("Bye."), Ok(1));
    session.finish().unwrap();
    let chunks = all_chunks(&mut session).await;
    let elapsed = started.elapsed();
    let audio = pcm(&chunks);
    // 16 characters at 60 ms each, 24 kHz.
    assert_eq!(audio.len(), 16 * 60 * 24);
    assert!(chunks.iter().all(|c| c.sample_rate == 24_000));
    assert!(rms(&audio) > 2_000.0, "audible: rms {}", rms(&audio));
    assert_eq!(chunks.first().map(|c| c.piece), Some(0));
    assert_eq!(chunks.last().map(|c| c.piece), Some(1));
    assert!(elapsed < Duration::from_millis(960) / 2, "took {elapsed:?}");
    assert_eq!(
        session.timing().time_to_first_audio(),
        Some(Duration::from_millis(120))
    );
    assert_eq!(session.timing().audio, Duration::from_millis(960));
    let log = tts.log();
    assert_eq!(log.texts, vec!["Hello world.", "Bye."]);
    assert_eq!((log.done, log.chunks), (1, chunks.len() as u64));
}

#[tokio::test(start_paused = true)]
async fn a_requested_rate_is_honoured() {
    let tts = FakeTts::new(FakeTtsConfig::default());
    let output = TtsOutput::Linear16 { sample_rate: 8_000 };
    let mut session = tts.open(config(output)).await.unwrap();
    session.send_text("ok").unwrap();
    session.finish().unwrap();
    let chunks = all_chunks(&mut session).await;
    assert!(chunks.iter().all(|c| c.sample_rate == 8_000));
    assert_eq!(pcm(&chunks).len(), 2 * 60 * 8);
}

#[tokio::test(start_paused = true)]
async fn cancel_after_the_first_chunk_stops_everything() {
    let tts = FakeTts::new(FakeTtsConfig::default());
    let mut session = tts.open(config(TtsOutput::Native)).await.unwrap();
    session
        .send_text("A long answer that would take many seconds to say.")
        .unwrap();
    assert!(matches!(next(&mut session).await, Some(TtsEvent::Audio(_))));
    session.cancel();
    assert_eq!(session.recv().await, None);
    let mut watch = tts.watch();
    let log = timeout(Duration::from_secs(5), watch.wait_for(|l| l.cancelled == 1))
        .await
        .expect("the fake noticed")
        .unwrap()
        .clone();
    // Of the 31 chunks 51 characters make, at most the one received and one
    // in flight were produced.
    assert!(log.chunks <= 2, "{log:?}");
    assert_eq!(log.done, 0);
}

#[tokio::test(start_paused = true)]
async fn scripted_errors_and_stalls() {
    let tts = FakeTts::new(FakeTtsConfig::default());
    tts.fail_next(FakeTtsFailure::Open(TtsError::Rejected(
        "no such voice".into(),
    )));
    tts.fail_next(FakeTtsFailure::AfterChunks(
        2,
        TtsError::Provider("boom".into()),
    ));
    tts.fail_next(FakeTtsFailure::StallAfterChunks(0));

    let refused = tts.open(config(TtsOutput::Native)).await;
    assert_eq!(
        refused.err(),
        Some(TtsError::Rejected("no such voice".into()))
    );

    let mut failing = tts.open(config(TtsOutput::Native)).await.unwrap();
    failing.send_text("Some words to say.").unwrap();
    for _ in 0..2 {
        assert!(matches!(next(&mut failing).await, Some(TtsEvent::Audio(_))));
    }
    assert_eq!(
        next(&mut failing).await,
        Some(TtsEvent::Error(TtsError::Provider("boom".into())))
    );
    assert_eq!(failing.recv().await, None);

    let mut stalled = tts.open(config(TtsOutput::Native)).await.unwrap();
    stalled.send_text("Hello.").unwrap();
    stalled.finish().unwrap();
    let first_byte_timeout = timeout(Duration::from_secs(5), stalled.recv()).await;
    assert!(first_byte_timeout.is_err(), "no audio from a stalled voice");
    stalled.cancel();
    let mut watch = tts.watch();
    let log = timeout(Duration::from_secs(5), watch.wait_for(|l| l.cancelled == 1))
        .await
        .expect("the stalled fake noticed the cancel")
        .unwrap()
        .clone();
    assert_eq!((log.opened, log.failed), (2, 1));
    assert_eq!(log.texts, vec!["Some words to say.", "Hello."]);
}

#[test]
fn the_log_of_texts_stays_bounded() {
    let mut texts = Vec::new();
    for i in 0..10 * super::LOG_TEXTS {
        super::log_text(&mut texts, i.to_string());
    }
    assert!(texts.len() <= 2 * super::LOG_TEXTS, "{}", texts.len());
    assert!(texts.len() >= super::LOG_TEXTS);
    // The newest are kept, in order.
    let last = 10 * super::LOG_TEXTS - 1;
    assert_eq!(texts.last(), Some(&last.to_string()));
    assert_eq!(texts[texts.len() - 2], (last - 1).to_string());
}
