//! The Transcribe adapter against the loopback fake (HTTP/2, event streams,
//! SigV4 checked on the request and on every audio event).

use std::time::Duration;

use tokio::time::timeout;

use super::fake::{Call, FakeTranscribe, Heard, exception, test_credentials, transcript};
use super::*;
use crate::adapter::speech::deepgram::ApiKey;
use crate::application::ports::speech::{
    SpeechToText, SttConfig, SttError, SttEvent, SttSampleRate, SttSession,
};

fn adapter(url: &str, tune: impl FnOnce(&mut AwsConfig)) -> TranscribeStt {
    let mut c = AwsConfig::new(test_credentials(), "us-east-1");
    c.transcribe_endpoint = Some(url.to_owned());
    c.read_timeout = Duration::from_secs(5);
    tune(&mut c);
    TranscribeStt::new(c)
}

async fn open(fake: &mut FakeTranscribe, stt: &TranscribeStt) -> (SttSession, Call) {
    let session = stt
        .open(SttConfig::new("en-US", SttSampleRate::Hz16000))
        .await
        .unwrap();
    (session, fake.call().await)
}

async fn next(session: &mut SttSession) -> Option<SttEvent> {
    timeout(Duration::from_secs(10), session.recv())
        .await
        .expect("an event in time")
}

#[tokio::test]
async fn streams_signed_audio_and_reports_interim_then_final() {
    let mut fake = FakeTranscribe::start().await;
    let stt = adapter(&fake.url, |_| {});
    let (mut session, mut call) = open(&mut fake, &stt).await;
    let h = |n: &str| call.headers.get(n).unwrap().to_str().unwrap().to_owned();
    assert_eq!(h("x-amzn-transcribe-language-code"), "en-US");
    assert_eq!(h("x-amzn-transcribe-sample-rate"), "16000");
    assert_eq!(h("x-amzn-transcribe-media-encoding"), "pcm");
    assert_eq!(h("content-type"), "application/vnd.amazon.eventstream");
    call.accept();
    // 100 ms in five 20 ms frames make one audio event.
    for i in 0..5 {
        session.push_audio(vec![i; 320]).unwrap();
    }
    let Some(Heard::Audio(pcm)) = call.heard().await else {
        panic!("no audio")
    };
    assert_eq!(pcm.len(), 3200);
    assert_eq!(&pcm[..2], &[0, 0]);
    assert_eq!(&pcm[3198..], &4i16.to_le_bytes());
    call.send(&transcript("hello", true, 0.1, 0.4));
    match next(&mut session).await {
        Some(SttEvent::Interim { text, .. }) => assert_eq!(text, "hello"),
        other => panic!("unexpected {other:?}"),
    }
    // A partial is outstanding: finish() waits for the result that settles it.
    session.finish().unwrap();
    call.send(&transcript("hello there", false, 0.1, 0.9));
    match next(&mut session).await {
        Some(SttEvent::Final {
            text,
            start,
            end,
            confidence,
        }) => {
            assert_eq!(text, "hello there");
            assert_eq!(start, Duration::from_millis(100));
            assert_eq!(end, Duration::from_millis(900));
            assert_eq!(confidence, Some(0.9));
        }
        other => panic!("unexpected {other:?}"),
    }
    // Dropping the session ends the audio with the empty signed message.
    drop(session);
    assert_eq!(call.heard().await, Some(Heard::End));
}

#[tokio::test]
async fn a_finish_with_nothing_pending_is_answered_at_once() {
    let mut fake = FakeTranscribe::start().await;
    let stt = adapter(&fake.url, |_| {});
    let (mut session, mut call) = open(&mut fake, &stt).await;
    call.accept();
    call.send(&transcript("yes", false, 0.0, 0.3));
    assert!(matches!(
        next(&mut session).await,
        Some(SttEvent::Interim { .. })
    ));
    session.finish().unwrap();
    match next(&mut session).await {
        Some(SttEvent::Final { text, .. }) => assert_eq!(text, "yes"),
        other => panic!("unexpected {other:?}"),
    }
    // The next utterance heard nothing; finish() flushes its short audio.
    session.push_audio(vec![7; 320]).unwrap();
    session.finish().unwrap();
    match next(&mut session).await {
        Some(SttEvent::Final { text, .. }) => assert_eq!(text, ""),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(call.heard().await, Some(Heard::Audio([7, 0].repeat(320))));
}

#[tokio::test]
async fn a_partial_never_settled_is_finalised_after_the_timeout() {
    let mut fake = FakeTranscribe::start().await;
    let stt = adapter(&fake.url, |c| {
        c.finalize_timeout = Duration::from_millis(200)
    });
    let (mut session, mut call) = open(&mut fake, &stt).await;
    call.accept();
    call.send(&transcript("maybe", true, 0.0, 0.3));
    assert!(matches!(
        next(&mut session).await,
        Some(SttEvent::Interim { .. })
    ));
    session.finish().unwrap();
    match next(&mut session).await {
        Some(SttEvent::Final { text, .. }) => assert_eq!(text, "maybe"),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn silence_keeps_the_stream_alive_without_shifting_timestamps() {
    let mut fake = FakeTranscribe::start().await;
    let stt = adapter(&fake.url, |c| c.keepalive = Duration::from_millis(100));
    let (mut session, mut call) = open(&mut fake, &stt).await;
    call.accept();
    // No audio from the caller: the adapter sends 100 ms of silence itself.
    assert_eq!(call.heard().await, Some(Heard::Audio(vec![0; 3200])));
    assert_eq!(call.heard().await, Some(Heard::Audio(vec![0; 3200])));
    // The service counts that silence; the session's audio time does not.
    call.send(&transcript("hi", true, 1.0, 1.5));
    match next(&mut session).await {
        Some(SttEvent::Interim { start, end, .. }) => {
            assert!(start < Duration::from_millis(900), "{start:?}");
            assert!(end < Duration::from_millis(1400), "{end:?}");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn a_wrong_secret_is_refused_with_403() {
    let fake = FakeTranscribe::start().await;
    let stt = adapter(&fake.url, |c| {
        c.credentials = Credentials {
            secret: ApiKey::new("wrong"),
            ..test_credentials()
        }
        .into()
    });
    let mut session = stt
        .open(SttConfig::new("en-US", SttSampleRate::Hz16000))
        .await
        .unwrap();
    match next(&mut session).await {
        Some(SttEvent::Error(SttError::Rejected(m))) => {
            assert!(m.contains("403 InvalidSignatureException"), "{m}")
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn throttling_is_a_provider_error_that_may_pass() {
    let mut fake = FakeTranscribe::start().await;
    let stt = adapter(&fake.url, |_| {});
    let (mut session, call) = open(&mut fake, &stt).await;
    call.refuse(
        429,
        "LimitExceededException",
        "You have exceeded the maximum number of concurrent streams",
    );
    match next(&mut session).await {
        Some(SttEvent::Error(SttError::Provider(m))) => {
            assert!(
                m.contains("429 LimitExceededException: You have exceeded"),
                "{m}"
            )
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn exception_events_end_the_session() {
    for (kind, rejected) in [
        ("BadRequestException", true),
        ("LimitExceededException", false),
        ("ServiceUnavailableException", false),
    ] {
        let mut fake = FakeTranscribe::start().await;
        let stt = adapter(&fake.url, |_| {});
        let (mut session, mut call) = open(&mut fake, &stt).await;
        call.accept();
        call.send(&exception(kind, "no"));
        match next(&mut session).await {
            Some(SttEvent::Error(SttError::Rejected(m))) if rejected => {
                assert_eq!(m, format!("{kind}: no"))
            }
            Some(SttEvent::Error(SttError::Provider(m))) if !rejected => {
                assert_eq!(m, format!("{kind}: no"))
            }
            other => panic!("{kind}: unexpected {other:?}"),
        }
        assert_eq!(next(&mut session).await, None);
    }
}

#[tokio::test]
async fn a_mid_stream_disconnect_is_a_provider_error() {
    let mut fake = FakeTranscribe::start().await;
    let stt = adapter(&fake.url, |_| {});
    let (mut session, mut call) = open(&mut fake, &stt).await;
    call.accept();
    call.send(&transcript("hel", true, 0.0, 0.2));
    assert!(matches!(
        next(&mut session).await,
        Some(SttEvent::Interim { .. })
    ));
    call.disconnect();
    assert!(matches!(
        next(&mut session).await,
        Some(SttEvent::Error(SttError::Provider(_)))
    ));
}

#[tokio::test]
async fn a_corrupt_frame_is_a_protocol_error() {
    let mut fake = FakeTranscribe::start().await;
    let stt = adapter(&fake.url, |_| {});
    let (mut session, mut call) = open(&mut fake, &stt).await;
    call.accept();
    let mut bytes = transcript("x", true, 0.0, 0.1).encode();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    call.send_raw(bytes);
    assert!(matches!(
        next(&mut session).await,
        Some(SttEvent::Error(SttError::Protocol(_)))
    ));
}

#[tokio::test]
async fn an_unreachable_endpoint_fails_at_open() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let stt = adapter(&url, |_| {});
    let opened = stt
        .open(SttConfig::new("en-US", SttSampleRate::Hz8000))
        .await;
    assert!(matches!(opened, Err(SttError::Connect(_))));
}

/// A CA and a server certificate for `localhost` it issued: the CA as a PEM
/// file, the server's rustls configuration.
fn test_tls(dir: &std::path::Path) -> (std::path::PathBuf, rustls::ServerConfig) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".into()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap();
    let server = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert.der().clone()], key)
    .unwrap();
    (ca_file, server)
}

#[tokio::test]
async fn https_endpoints_speak_http2_over_verified_tls() {
    let dir = tempfile::tempdir().unwrap();
    let (ca_file, server) = test_tls(dir.path());
    let mut fake = FakeTranscribe::start_tls(server).await;
    assert!(fake.url.starts_with("https://localhost:"));
    let stt = adapter(&fake.url, |c| c.ca_file = Some(ca_file));
    let (mut session, mut call) = open(&mut fake, &stt).await;
    call.accept();
    call.send(&transcript("secure", true, 0.0, 0.2));
    match next(&mut session).await {
        Some(SttEvent::Interim { text, .. }) => assert_eq!(text, "secure"),
        other => panic!("unexpected {other:?}"),
    }
    // The same server is refused when its CA is not trusted.
    let untrusting = adapter(&fake.url, |_| {});
    let opened = untrusting
        .open(SttConfig::new("en-US", SttSampleRate::Hz16000))
        .await;
    match opened {
        Err(SttError::Connect(m)) => assert!(m.contains("TLS"), "{m}"),
        other => panic!("unexpected {:?}", other.map(|_| ())),
    }
}
