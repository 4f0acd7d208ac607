//! The Polly adapter against the loopback fake (SigV4 recomputed per request).

use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::time::timeout;

use super::fake::{FakePolly, Reply, test_credentials};
use super::*;
use crate::adapter::speech::deepgram::ApiKey;
use crate::application::ports::speech::{
    TextToSpeech, TtsAudio, TtsConfig, TtsError, TtsEvent, TtsOutput, TtsSession,
};

fn adapter(url: String, tune: impl FnOnce(&mut AwsConfig)) -> PollyTts {
    let mut c = AwsConfig::new(test_credentials(), "eu-west-1");
    c.polly_endpoint = Some(url);
    c.read_timeout = Duration::from_secs(5);
    tune(&mut c);
    PollyTts::new(c).unwrap()
}

fn config(output: TtsOutput) -> TtsConfig {
    TtsConfig {
        voice: None,
        language: "en-US".into(),
        output,
    }
}

async fn next(session: &mut TtsSession) -> Option<TtsEvent> {
    timeout(Duration::from_secs(10), session.recv())
        .await
        .expect("an event in time")
}

fn le(samples: &[i16]) -> Vec<u8> {
    samples.iter().flat_map(|s| s.to_le_bytes()).collect()
}

#[tokio::test]
async fn streams_each_piece_in_order_with_its_id() {
    let first = le(&[1, 2, 3]);
    let (fake, url) = FakePolly::start(vec![
        Reply::Pcm(vec![first[..3].to_vec(), first[3..].to_vec()]),
        Reply::Pcm(vec![le(&[7, 8])]),
    ])
    .await;
    let tts = adapter(url, |c| c.voice = "Matthew".into());
    let mut session = tts.open(config(TtsOutput::Mulaw8k)).await.unwrap();
    assert_eq!(session.send_text("Hello \"there\"."), Ok(0));
    assert_eq!(session.send_text("Bye."), Ok(1));
    session.finish().unwrap();
    let mut got = Vec::new();
    loop {
        match next(&mut session).await {
            Some(TtsEvent::Audio(c)) => {
                assert_eq!(c.sample_rate, 8000);
                let TtsAudio::Linear16(pcm) = c.audio else {
                    panic!("not linear")
                };
                got.extend(pcm.into_iter().map(|s| (c.piece, s)));
            }
            Some(TtsEvent::Done) => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(got, [(0, 1), (0, 2), (0, 3), (1, 7), (1, 8)]);
    let requests = fake.requests.lock().unwrap().clone();
    assert_eq!(
        requests[0],
        serde_json::json!({"Engine": "neural", "OutputFormat": "pcm", "SampleRate": "8000",
            "Text": "Hello \"there\".", "TextType": "text", "VoiceId": "Matthew"})
    );
    assert_eq!(requests[1]["Text"], "Bye.");
}

#[tokio::test]
async fn the_first_audio_comes_before_the_body_ends() {
    let (tx, rx) = mpsc::channel(4);
    let (_fake, url) = FakePolly::start(vec![Reply::Live(rx)]).await;
    let tts = adapter(url, |_| {});
    let mut session = tts
        .open(config(TtsOutput::Linear16 {
            sample_rate: 16_000,
        }))
        .await
        .unwrap();
    session.send_text("A long answer.").unwrap();
    tx.send(Ok(Bytes::from(le(&[5, 6])))).await.unwrap();
    match next(&mut session).await {
        Some(TtsEvent::Audio(c)) => {
            assert_eq!(c.sample_rate, 16_000);
            assert_eq!(c.audio, TtsAudio::Linear16(vec![5, 6]));
        }
        other => panic!("unexpected {other:?}"),
    }
    // Mid-stream failure of the body.
    tx.send(Err(std::io::Error::other("boom"))).await.unwrap();
    assert!(matches!(
        next(&mut session).await,
        Some(TtsEvent::Error(TtsError::Provider(_)))
    ));
}

#[tokio::test]
async fn a_wrong_secret_is_refused_with_403() {
    let (_fake, url) = FakePolly::start(vec![]).await;
    let tts = adapter(url, |c| {
        c.credentials = Credentials {
            secret: ApiKey::new("wrong"),
            ..test_credentials()
        }
        .into()
    });
    let mut session = tts.open(config(TtsOutput::Native)).await.unwrap();
    session.send_text("Hello.").unwrap();
    match next(&mut session).await {
        Some(TtsEvent::Error(TtsError::Rejected(m))) => {
            assert!(
                m.starts_with("polly: HTTP 403 InvalidSignatureException"),
                "{m}"
            )
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn throttling_and_server_errors_may_pass_bad_requests_do_not() {
    for (status, kind, passes) in [
        (400, "ThrottlingException", true),
        (429, "ThrottlingException", true),
        (500, "ServiceFailureException", true),
        (400, "InvalidSampleRateException", false),
    ] {
        let (_fake, url) = FakePolly::start(vec![Reply::Status(status, kind)]).await;
        let mut session = adapter(url, |_| {})
            .open(config(TtsOutput::Native))
            .await
            .unwrap();
        session.send_text("Hello.").unwrap();
        match next(&mut session).await {
            Some(TtsEvent::Error(TtsError::Provider(m))) if passes => {
                assert!(m.contains(kind), "{m}")
            }
            Some(TtsEvent::Error(TtsError::Rejected(m))) if !passes => {
                assert!(m.contains(kind), "{m}")
            }
            other => panic!("{status} {kind}: unexpected {other:?}"),
        }
    }
}

#[tokio::test]
async fn cancel_drops_the_request_and_nothing_follows() {
    let (tx, rx) = mpsc::channel(4);
    let (_fake, url) = FakePolly::start(vec![Reply::Live(rx)]).await;
    let mut session = adapter(url, |_| {})
        .open(config(TtsOutput::Native))
        .await
        .unwrap();
    session.send_text("A long answer.").unwrap();
    tx.send(Ok(Bytes::from(le(&[5, 6])))).await.unwrap();
    assert!(matches!(next(&mut session).await, Some(TtsEvent::Audio(_))));
    session.cancel();
    assert_eq!(session.recv().await, None);
    timeout(Duration::from_secs(10), tx.closed())
        .await
        .expect("the request dropped");
}
