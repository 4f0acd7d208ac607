//! Google streaming STT against a local gRPC fake of `StreamingRecognize`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::time::timeout;
use tonic::Status;

use super::fake_grpc::{FakeCall, FakeSpeech};
use super::proto::{self, StreamingRecognizeResponse as Resp, StreamingRequest};
use super::*;
use crate::adapter::speech::deepgram::ApiKey;
use crate::application::ports::speech::{
    SpeechToText, SttConfig, SttError, SttEvent, SttSampleRate, SttSession,
};

fn api_key_config(server: &FakeSpeech) -> GoogleConfig {
    GoogleConfig {
        stt_endpoint: server.url.clone(),
        finalize_timeout: Duration::from_secs(5),
        ..GoogleConfig::new(GoogleCredentials::ApiKey(ApiKey::new("g-test")), "proj-1")
    }
}

async fn setup() -> (FakeSpeech, GoogleStt) {
    let server = FakeSpeech::start("x-goog-api-key", "g-test").await;
    let stt = GoogleStt::new(api_key_config(&server)).unwrap();
    (server, stt)
}

async fn open(
    server: &mut FakeSpeech,
    stt: &GoogleStt,
    rate: SttSampleRate,
) -> (SttSession, FakeCall) {
    let config = SttConfig::new("en-US", rate);
    let (session, call) = tokio::join!(stt.open(config), server.accept());
    (session.unwrap(), call)
}

async fn next(session: &mut SttSession) -> Option<SttEvent> {
    timeout(Duration::from_secs(10), session.recv())
        .await
        .expect("an event in time")
}

fn result(text: &str, is_final: bool, end_ms: u64) -> proto::StreamingRecognitionResult {
    proto::StreamingRecognitionResult {
        alternatives: vec![proto::SpeechRecognitionAlternative {
            transcript: text.into(),
            confidence: if is_final { 0.9 } else { 0.0 },
        }],
        is_final,
        stability: 0.5,
        result_end_offset: Some(proto::Duration::from_std(Duration::from_millis(end_ms))),
    }
}

fn response(results: Vec<proto::StreamingRecognitionResult>) -> Resp {
    Resp {
        results,
        speech_event_type: 0,
        speech_event_offset: None,
    }
}

fn audio_of(req: &proto::StreamingRecognizeRequest) -> Vec<u8> {
    match &req.streaming_request {
        Some(StreamingRequest::Audio(a)) => a.clone(),
        other => panic!("expected audio, got {other:?}"),
    }
}

#[tokio::test]
async fn sends_the_config_then_audio_and_reports_interim_then_final() {
    let (mut server, stt) = setup().await;
    let (mut session, mut call) = open(&mut server, &stt, SttSampleRate::Hz16000).await;
    let first = call.next().await.unwrap();
    assert_eq!(
        first.recognizer,
        "projects/proj-1/locations/global/recognizers/_"
    );
    let Some(StreamingRequest::StreamingConfig(sc)) = first.streaming_request else {
        panic!("first request carries the config");
    };
    let config = sc.config.unwrap();
    let decoding = config.explicit_decoding_config.unwrap();
    assert_eq!(decoding.encoding, proto::AudioEncoding::Linear16 as i32);
    assert_eq!(
        (decoding.sample_rate_hertz, decoding.audio_channel_count),
        (16_000, 1)
    );
    assert_eq!(config.model, "telephony");
    assert_eq!(config.language_codes, ["en-US"]);
    assert!(config.features.unwrap().enable_automatic_punctuation);
    assert_eq!(config.adaptation, None, "no hints, no adaptation");
    assert!(sc.streaming_features.unwrap().interim_results);
    assert_eq!(
        call.metadata.get("x-goog-request-params").unwrap(),
        "recognizer=projects%2Fproj-1%2Flocations%2Fglobal%2Frecognizers%2F_"
    );

    session.push_audio(vec![1i16, -2, 300]).unwrap();
    assert_eq!(
        audio_of(&call.next().await.unwrap()),
        [1, 0, 254, 255, 44, 1]
    );

    call.send(Resp {
        speech_event_type: proto::SpeechEventType::SpeechActivityBegin as i32,
        speech_event_offset: Some(proto::Duration::from_std(Duration::from_millis(120))),
        results: vec![],
    })
    .await;
    assert_eq!(
        next(&mut session).await,
        Some(SttEvent::SpeechStarted {
            at: Duration::from_millis(120)
        })
    );
    call.send(response(vec![
        result("to be", false, 500),
        result(" or not", false, 700),
    ]))
    .await;
    let Some(SttEvent::Interim { text, .. }) = next(&mut session).await else {
        panic!("an interim");
    };
    assert_eq!(text, "to be or not");
    call.send(response(vec![
        result("to be or not to be", true, 1_200),
        result(" that", false, 1_400),
    ]))
    .await;
    let Some(SttEvent::Interim { text, .. }) = next(&mut session).await else {
        panic!("an interim");
    };
    assert_eq!(text, "to be or not to be that");

    session.finish().unwrap();
    assert!(call.next().await.is_none(), "finish half-closes the stream");
    call.send(response(vec![result("that is the question", true, 2_000)]))
        .await;
    drop(call); // the call ends with OK
    let Some(SttEvent::Final {
        text,
        end,
        confidence,
        ..
    }) = next(&mut session).await
    else {
        panic!("a final");
    };
    assert_eq!(text, "to be or not to be that is the question");
    assert_eq!(end, Duration::from_secs(2));
    assert!((confidence.unwrap() - 0.9).abs() < 1e-6);
}

#[tokio::test]
async fn the_next_utterance_goes_on_a_new_stream_with_the_audio_that_waited() {
    let (mut server, stt) = setup().await;
    let (mut session, mut call) = open(&mut server, &stt, SttSampleRate::Hz8000).await;
    call.next().await.unwrap();
    session.push_audio(vec![5i16; 80]).unwrap();
    call.next().await.unwrap();
    session.finish().unwrap();
    assert!(call.next().await.is_none());
    // Audio of the next turn arrives while Google still settles the first.
    session.push_audio(vec![7i16; 4]).unwrap();
    call.send(response(vec![result("hello", true, 10)])).await;
    drop(call);
    let Some(SttEvent::Final { text, .. }) = next(&mut session).await else {
        panic!("a final");
    };
    assert_eq!(text, "hello");
    let mut second = server.accept().await;
    assert!(matches!(
        second.next().await.unwrap().streaming_request,
        Some(StreamingRequest::StreamingConfig(_))
    ));
    assert_eq!(
        audio_of(&second.next().await.unwrap()),
        [7, 0, 7, 0, 7, 0, 7, 0]
    );
    // Its offsets count from where the session's audio stood (80 samples = 10 ms).
    second.send(response(vec![result("again", false, 5)])).await;
    let Some(SttEvent::Interim { end, .. }) = next(&mut session).await else {
        panic!("an interim");
    };
    assert_eq!(end, Duration::from_millis(15));
}

#[tokio::test]
async fn mulaw_is_sent_when_configured() {
    let mut server = FakeSpeech::start("x-goog-api-key", "g-test").await;
    let config = GoogleConfig {
        stt_encoding: SttEncoding::Mulaw,
        ..api_key_config(&server)
    };
    let stt = GoogleStt::new(config).unwrap();
    let (mut session, mut call) = open(&mut server, &stt, SttSampleRate::Hz8000).await;
    let Some(StreamingRequest::StreamingConfig(sc)) = call.next().await.unwrap().streaming_request
    else {
        panic!("config first");
    };
    let d = sc.config.unwrap().explicit_decoding_config.unwrap();
    assert_eq!(
        (d.encoding, d.sample_rate_hertz),
        (proto::AudioEncoding::Mulaw as i32, 8_000)
    );
    session.push_audio(vec![0i16, 0]).unwrap();
    // G.711 µ-law silence is 0xFF.
    assert_eq!(audio_of(&call.next().await.unwrap()), [0xFF, 0xFF]);
}

/// The error a session opened on `stt` ends with, before any audio.
async fn first_error(stt: &GoogleStt) -> SttError {
    // gRPC servers may send no headers before their first message, so open
    // does not wait for them: a refusal is the session's first event.
    let mut session = stt
        .open(SttConfig::new("en-US", SttSampleRate::Hz8000))
        .await
        .unwrap();
    match next(&mut session).await {
        Some(SttEvent::Error(e)) => e,
        other => panic!("expected an error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_wrong_key_is_refused() {
    let server = FakeSpeech::start("x-goog-api-key", "g-test").await;
    let config = GoogleConfig {
        credentials: GoogleCredentials::ApiKey(ApiKey::new("wrong")),
        ..api_key_config(&server)
    };
    let stt = GoogleStt::new(config).unwrap();
    let err = first_error(&stt).await;
    assert!(
        matches!(&err, SttError::Rejected(m) if m.contains("Unauthenticated")),
        "{err:?}"
    );
}

#[tokio::test]
async fn quota_exhaustion_is_a_provider_failure_not_a_rejection() {
    let (server, stt) = setup().await;
    server.refuse_with(Status::resource_exhausted(
        "Quota exceeded for quota metric",
    ));
    let err = first_error(&stt).await;
    assert!(
        matches!(&err, SttError::Provider(m) if m.contains("ResourceExhausted")),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_unreachable_endpoint_is_a_connect_failure() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let config = GoogleConfig {
        stt_endpoint: url,
        ..GoogleConfig::new(GoogleCredentials::ApiKey(ApiKey::new("g-test")), "p")
    };
    let err = first_error(&GoogleStt::new(config).unwrap()).await;
    assert!(matches!(err, SttError::Connect(_)), "{err:?}");
}

#[tokio::test]
async fn a_status_mid_stream_ends_the_session_with_an_error() {
    let (mut server, stt) = setup().await;
    let (mut session, mut call) = open(&mut server, &stt, SttSampleRate::Hz16000).await;
    call.next().await.unwrap();
    call.responses
        .send(Err(Status::resource_exhausted("too many streams")))
        .await
        .unwrap();
    let Some(SttEvent::Error(SttError::Provider(m))) = next(&mut session).await else {
        panic!("an error");
    };
    assert!(m.contains("too many streams"), "{m}");
}

#[tokio::test]
async fn a_dropped_connection_mid_stream_ends_the_session_with_an_error() {
    let (mut server, stt) = setup().await;
    let (mut session, mut call) = open(&mut server, &stt, SttSampleRate::Hz16000).await;
    call.next().await.unwrap();
    session.push_audio(vec![1i16; 160]).unwrap();
    call.next().await.unwrap();
    server.disconnect();
    let event = next(&mut session).await;
    assert!(
        matches!(event, Some(SttEvent::Error(SttError::Provider(_)))),
        "{event:?}"
    );
}

#[tokio::test]
async fn a_stream_google_never_ends_is_answered_after_the_finalize_timeout() {
    let mut server = FakeSpeech::start("x-goog-api-key", "g-test").await;
    let config = GoogleConfig {
        finalize_timeout: Duration::from_millis(200),
        ..api_key_config(&server)
    };
    let stt = GoogleStt::new(config).unwrap();
    let (mut session, mut call) = open(&mut server, &stt, SttSampleRate::Hz16000).await;
    call.next().await.unwrap();
    call.send(response(vec![result("partly heard", true, 300)]))
        .await;
    session.finish().unwrap();
    let Some(SttEvent::Final { text, .. }) = next(&mut session).await else {
        panic!("a final");
    };
    assert_eq!(text, "partly heard");
    drop(call);
}

/// A fake token endpoint that checks the JWT's RS256 signature with the
/// public half of the test key, its audience and grant type, and counts exchanges.
async fn token_endpoint(hits: Arc<AtomicUsize>, expires_in: u64) -> String {
    use axum::extract::State;
    use axum::routing::post;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/token", listener.local_addr().unwrap());
    let aud = url.clone();
    let app = axum::Router::new()
        .route(
            "/token",
            post(
                |State((hits, aud, expires_in)): State<(Arc<AtomicUsize>, String, u64)>,
                 axum::Form(form): axum::Form<std::collections::HashMap<String, String>>| async move {
                    hits.fetch_add(1, Ordering::SeqCst);
                    assert_eq!(form["grant_type"], "urn:ietf:params:oauth:grant-type:jwt-bearer");
                    let key = jsonwebtoken::DecodingKey::from_rsa_pem(include_bytes!(
                        "../../../../tests/fixtures/google/service-account-test-key.pub.pem"
                    ))
                    .unwrap();
                    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
                    v.set_audience(&[aud]);
                    match jsonwebtoken::decode::<serde_json::Value>(&form["assertion"], &key, &v) {
                        Ok(t) if t.claims["iss"] == "gw@proj-1.iam.gserviceaccount.com" => (
                            axum::http::StatusCode::OK,
                            format!(r#"{{"access_token":"ya29.fake","expires_in":{expires_in},"token_type":"Bearer"}}"#),
                        ),
                        _ => (axum::http::StatusCode::BAD_REQUEST, r#"{"error":"invalid_grant"}"#.to_owned()),
                    }
                },
            ),
        )
        .with_state((hits, aud, expires_in));
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

pub(super) fn key_file(token_uri: &str) -> tempfile::NamedTempFile {
    let json = serde_json::json!({
        "type": "service_account",
        "project_id": "proj-1",
        "private_key_id": "k1",
        "private_key": include_str!("../../../../tests/fixtures/google/service-account-test-key.pem"),
        "client_email": "gw@proj-1.iam.gserviceaccount.com",
        "token_uri": token_uri,
    });
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), json.to_string()).unwrap();
    file
}

#[tokio::test]
async fn a_service_account_signs_a_jwt_and_reuses_the_token_it_gets() {
    let hits = Arc::new(AtomicUsize::new(0));
    let token_uri = token_endpoint(hits.clone(), 3599).await;
    let file = key_file(&token_uri);
    let mut server = FakeSpeech::start("authorization", "Bearer ya29.fake").await;
    let config = GoogleConfig {
        credentials: GoogleCredentials::ServiceAccount(file.path().into()),
        ..api_key_config(&server)
    };
    let stt = GoogleStt::new(config).unwrap();
    for _ in 0..2 {
        let (_session, mut call) = open(&mut server, &stt, SttSampleRate::Hz8000).await;
        call.next().await.unwrap();
    }
    assert_eq!(hits.load(Ordering::SeqCst), 1, "the token is cached");
}

#[tokio::test]
async fn a_key_file_the_token_endpoint_refuses_fails_the_open() {
    let hits = Arc::new(AtomicUsize::new(0));
    let token_uri = token_endpoint(hits.clone(), 3599).await;
    // Signed by the right key but for another account: the endpoint refuses.
    let file = key_file(&token_uri);
    let text = std::fs::read_to_string(file.path())
        .unwrap()
        .replace("gw@proj-1", "intruder@proj-1");
    std::fs::write(file.path(), text).unwrap();
    let server = FakeSpeech::start("authorization", "Bearer ya29.fake").await;
    let config = GoogleConfig {
        credentials: GoogleCredentials::ServiceAccount(file.path().into()),
        ..api_key_config(&server)
    };
    let err = GoogleStt::new(config)
        .unwrap()
        .open(SttConfig::new("en-US", SttSampleRate::Hz8000))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SttError::Rejected(m) if m.contains("invalid_grant")),
        "{err:?}"
    );
}

#[test]
fn a_file_that_is_not_a_service_account_key_is_refused_up_front() {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), r#"{"type":"authorized_user"}"#).unwrap();
    let config = GoogleConfig::new(GoogleCredentials::ServiceAccount(file.path().into()), "p");
    let err = GoogleStt::new(config).unwrap_err();
    assert!(
        matches!(&err, SttError::Rejected(m) if m.contains("service_account")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_token_about_to_expire_is_renewed_before_use() {
    let hits = Arc::new(AtomicUsize::new(0));
    // 30 s left is inside the one-minute margin: each call needs a new token.
    let token_uri = token_endpoint(hits.clone(), 30).await;
    let file = key_file(&token_uri);
    let mut server = FakeSpeech::start("authorization", "Bearer ya29.fake").await;
    let config = GoogleConfig {
        credentials: GoogleCredentials::ServiceAccount(file.path().into()),
        ..api_key_config(&server)
    };
    let stt = GoogleStt::new(config).unwrap();
    for _ in 0..2 {
        let (_session, mut call) = open(&mut server, &stt, SttSampleRate::Hz8000).await;
        call.next().await.unwrap();
    }
    assert_eq!(hits.load(Ordering::SeqCst), 2);
}

#[test]
fn locations_other_than_global_have_their_own_host() {
    assert_eq!(
        regional_stt_endpoint("global"),
        "https://speech.googleapis.com"
    );
    assert_eq!(
        regional_stt_endpoint("eu"),
        "https://eu-speech.googleapis.com"
    );
    assert_eq!(
        regional_stt_endpoint("us-central1"),
        "https://us-central1-speech.googleapis.com"
    );
}

#[tokio::test]
async fn hints_go_as_an_inline_phrase_set() {
    let (mut server, stt) = setup().await;
    let mut config = SttConfig::new("en-US", SttSampleRate::Hz8000);
    config.hints = vec!["Acme Rewards".into(), "billing".into()];
    let (session, call) = tokio::join!(stt.open(config), server.accept());
    let (_session, mut call) = (session.unwrap(), call);
    let Some(StreamingRequest::StreamingConfig(sc)) = call.next().await.unwrap().streaming_request
    else {
        panic!("config first");
    };
    let sets = sc.config.unwrap().adaptation.unwrap().phrase_sets;
    let phrases: Vec<String> = sets[0]
        .inline_phrase_set
        .as_ref()
        .unwrap()
        .phrases
        .iter()
        .map(|p| p.value.clone())
        .collect();
    assert_eq!(phrases, ["Acme Rewards", "billing"]);
}
