use std::time::Duration;

use tokio::time::{Instant, sleep, timeout};

use super::*;
use crate::application::ports::speech::{
    SpeechToText, SttConfig, SttError, SttEvent, SttSampleRate, SttSession,
};

const FRAME: Duration = Duration::from_millis(20);

fn loud_frame() -> Vec<i16> {
    // 20 ms of the fake voice at 8 kHz: loud, like a caller talking.
    synthesize("aaaa", 8_000, Duration::from_millis(5))
}

async fn open(stt: &FakeStt) -> SttSession {
    stt.open(SttConfig::new("en-US", SttSampleRate::Hz8000))
        .await
        .unwrap()
}

/// Pushes `frames` frames at the real-time pace of 20 ms each.
async fn talk(session: &mut SttSession, frames: usize, frame: &[i16]) {
    for _ in 0..frames {
        session.push_audio(frame).unwrap();
        sleep(FRAME).await;
    }
}

async fn next(session: &mut SttSession) -> SttEvent {
    timeout(Duration::from_secs(30), session.recv())
        .await
        .expect("an event in time")
        .expect("the session is still open")
}

async fn next_final(session: &mut SttSession) -> (SttEvent, Vec<SttEvent>) {
    let mut before = Vec::new();
    loop {
        match next(session).await {
            e @ SttEvent::Final { .. } => return (e, before),
            other => before.push(other),
        }
    }
}

#[tokio::test(start_paused = true)]
async fn loud_audio_gives_interims_then_the_scripted_final_after_finish() {
    let stt = FakeStt::new(FakeSttConfig::default());
    stt.expect_utterances(["please transfer me to billing"]);
    let mut session = open(&stt).await;
    // 49 frames: finish at 980 ms, clear of the interim due at 1 s.
    talk(&mut session, 49, &loud_frame()).await;
    session.finish().unwrap();
    let (fin, before) = next_final(&mut session).await;
    assert_eq!(before[0], SttEvent::SpeechStarted { at: Duration::ZERO });
    let interims: Vec<String> = before[1..]
        .iter()
        .map(|e| match e {
            SttEvent::Interim { text, .. } => text.clone(),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(interims.len(), 4, "{interims:?}");
    assert_eq!(interims[0], "please");
    assert_eq!(interims[3], "please transfer me to");
    let SttEvent::Final {
        text,
        start,
        end,
        confidence,
    } = fin
    else {
        unreachable!()
    };
    assert_eq!(text, "please transfer me to billing");
    assert_eq!((start, end), (Duration::ZERO, Duration::from_millis(980)));
    assert!(confidence.is_some());
    let timing = session.timing();
    assert_eq!(timing.finish_to_final(), Some(Duration::from_millis(150)));
    // Measured where the call task saw it: this test read nothing until 980 ms.
    assert_eq!(
        timing.time_to_first_result(),
        Some(Duration::from_millis(980))
    );
    assert_eq!(stt.log().finals, vec!["please transfer me to billing"]);
}

#[tokio::test(start_paused = true)]
async fn trailing_silence_finalises_on_its_own_and_names_utterances() {
    let stt = FakeStt::new(FakeSttConfig::default());
    let mut session = open(&stt).await;
    for expected in ["utterance 1", "utterance 2"] {
        talk(&mut session, 10, &loud_frame()).await;
        // Then nothing at all, as Asterisk sends during silence.
        let last_audio = Instant::now();
        let (fin, _) = next_final(&mut session).await;
        assert!(matches!(fin, SttEvent::Final { ref text, .. } if text == expected));
        assert_eq!(last_audio.elapsed(), Duration::from_millis(800 - 20));
    }
    assert_eq!(stt.log().finishes, 0);
}

#[tokio::test(start_paused = true)]
async fn quiet_audio_is_not_speech_and_finish_still_answers() {
    let stt = FakeStt::new(FakeSttConfig::default());
    let mut session = open(&stt).await;
    talk(&mut session, 25, &[30i16; 160]).await;
    session.finish().unwrap();
    let (fin, before) = next_final(&mut session).await;
    assert!(before.is_empty(), "{before:?}");
    let SttEvent::Final {
        text, start, end, ..
    } = fin
    else {
        unreachable!()
    };
    assert_eq!(
        (text.as_str(), start, end),
        ("", Duration::from_millis(500), Duration::from_millis(500))
    );
    let log = stt.log();
    assert_eq!((log.frames, log.loud_frames), (25, 0));
}

#[tokio::test(start_paused = true)]
async fn interims_can_be_switched_off() {
    let stt = FakeStt::new(FakeSttConfig::default());
    let mut config = SttConfig::new("en-US", SttSampleRate::Hz8000);
    config.interim_results = false;
    let mut session = stt.open(config).await.unwrap();
    talk(&mut session, 50, &loud_frame()).await;
    session.finish().unwrap();
    let (_, before) = next_final(&mut session).await;
    assert_eq!(before.len(), 1, "only SpeechStarted: {before:?}");
}

#[tokio::test(start_paused = true)]
async fn scripted_failures_reach_the_session() {
    let stt = FakeStt::new(FakeSttConfig::default());
    stt.fail_next_open(SttError::Connect("refused".into()));
    let refused = stt
        .open(SttConfig::new("en-US", SttSampleRate::Hz16000))
        .await;
    assert_eq!(refused.err(), Some(SttError::Connect("refused".into())));

    stt.fail_after_frames(3, SttError::Provider("model crashed".into()));
    let mut session = open(&stt).await;
    talk(&mut session, 3, &loud_frame()).await;
    assert_eq!(
        next(&mut session).await,
        SttEvent::SpeechStarted { at: Duration::ZERO }
    );
    assert_eq!(
        next(&mut session).await,
        SttEvent::Error(SttError::Provider("model crashed".into()))
    );
    assert_eq!(session.recv().await, None);
}

#[tokio::test(start_paused = true)]
async fn cancel_stops_the_fake_at_once() {
    let stt = FakeStt::new(FakeSttConfig::default());
    let mut session = open(&stt).await;
    talk(&mut session, 5, &loud_frame()).await;
    session.cancel();
    assert_eq!(session.recv().await, None);
    let mut watch = stt.watch();
    timeout(
        Duration::from_secs(5),
        watch.wait_for(|log| log.closed == 1),
    )
    .await
    .expect("the fake noticed")
    .unwrap();
}
