//! Loopback fakes of Google's speech APIs for the gateway's tests and
//! benchmarks: Speech-to-Text v2 `StreamingRecognize` (tonic's server-side
//! `Grpc` with the gateway's prost messages, on hyper's HTTP/2, so a test can
//! cut a connection) and Text-to-Speech `text:synthesize` (axum).

#![allow(dead_code)]

use base64::Engine;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::{mpsc, watch};
use tonic::codegen::http;
use tonic::{Status, Streaming};
use voice_gateway::adapter::speech::google::proto::{
    Duration as PDuration, STREAMING_RECOGNIZE, SpeechRecognitionAlternative,
    StreamingRecognitionResult, StreamingRecognizeRequest as Req,
    StreamingRecognizeResponse as Resp, StreamingRequest,
};

/// The API key the fakes accept.
pub(crate) const KEY: &str = "g-key";

/// What the fake recogniser does once it hears loud audio.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Stt {
    /// An interim, then on half-close the final "hello google".
    Hears,
    /// Drops the connection.
    Drops,
}

/// The fake Speech-to-Text: its URL and how many calls it took.
pub(crate) async fn fake_stt(mode: Stt) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            // As Google's servers: no Nagle delay on small frames.
            tcp.set_nodelay(true).unwrap();
            let (kill, mut killed) = watch::channel(false);
            let calls = counted.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    serve(req, mode, kill.clone(), calls.clone())
                });
                let conn = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tcp), service);
                tokio::select! {
                    _ = conn => {}
                    _ = killed.changed() => {}
                }
            });
        }
    });
    (url, calls)
}

async fn serve(
    req: http::Request<hyper::body::Incoming>,
    mode: Stt,
    kill: watch::Sender<bool>,
    calls: Arc<AtomicUsize>,
) -> Result<http::Response<tonic::body::Body>, Infallible> {
    if req.uri().path() != STREAMING_RECOGNIZE
        || req.headers().get("x-goog-api-key").is_none_or(|k| k != KEY)
    {
        return Ok(Status::unauthenticated("bad key").into_http());
    }
    calls.fetch_add(1, Ordering::SeqCst);
    let handler = tower::service_fn(move |call: tonic::Request<Streaming<Req>>| {
        let kill = kill.clone();
        async move {
            let (tx, mut rx) = mpsc::channel(8);
            tokio::spawn(recognize(call.into_inner(), tx, mode, kill));
            let stream = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
            Ok::<_, Status>(tonic::Response::new(stream))
        }
    });
    let codec = tonic_prost::ProstCodec::<Resp, Req>::default();
    Ok(tonic::server::Grpc::new(codec)
        .streaming(handler, req)
        .await)
}

fn result(text: &str, is_final: bool) -> Resp {
    Resp {
        results: vec![StreamingRecognitionResult {
            alternatives: vec![SpeechRecognitionAlternative {
                transcript: text.into(),
                confidence: 0.9,
            }],
            is_final,
            stability: 0.0,
            result_end_offset: Some(PDuration::from_std(std::time::Duration::from_millis(500))),
        }],
        speech_event_type: 0,
        speech_event_offset: None,
    }
}

/// Reads one call until the client half-closes; loud LINEAR16 audio is "speech".
async fn recognize(
    mut requests: Streaming<Req>,
    tx: mpsc::Sender<Result<Resp, Status>>,
    mode: Stt,
    kill: watch::Sender<bool>,
) {
    let mut heard = false;
    while let Ok(Some(req)) = requests.message().await {
        let Some(StreamingRequest::Audio(bytes)) = req.streaming_request else {
            continue;
        };
        let loud = bytes
            .chunks_exact(2)
            .any(|b| i16::from_le_bytes([b[0], b[1]]).unsigned_abs() > 3000);
        if loud && !heard {
            heard = true;
            if mode == Stt::Drops {
                let _ = kill.send(true);
                return;
            }
            let _ = tx.send(Ok(result("hello", false))).await;
        }
    }
    if heard {
        let _ = tx.send(Ok(result("hello google", true))).await;
    }
}

/// What the fake Text-to-Speech does.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Tts {
    /// Answers every request.
    Speaks,
    /// Cuts its first answer half-way through the body (the connection
    /// drops); answers later ones.
    CutsFirst,
}

/// The fake Text-to-Speech: a loud tone for every sentence, in the encoding
/// asked for, inside a WAV header as Google sends it; counts requests.
pub(crate) async fn fake_tts() -> (String, Arc<AtomicUsize>) {
    fake_tts_with(Tts::Speaks).await
}

/// [`fake_tts`] failing as `mode` says.
pub(crate) async fn fake_tts_with(mode: Tts) -> (String, Arc<AtomicUsize>) {
    let requests = Arc::new(AtomicUsize::new(0));
    let counted = requests.clone();
    let app = axum::Router::new().route(
        "/v1/text:synthesize",
        axum::routing::post(move |body: axum::Json<serde_json::Value>| {
            let n = counted.fetch_add(1, Ordering::SeqCst);
            async move {
                use axum::response::IntoResponse;
                let answer = serde_json::json!({ "audioContent": synthesize(&body) }).to_string();
                let body = if mode == Tts::CutsFirst && n == 0 {
                    let half = answer.as_bytes()[..answer.len() / 2].to_vec();
                    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
                        vec![Ok(half), Err(std::io::Error::other("cut mid-body"))];
                    axum::body::Body::from_stream(futures_util::stream::iter(chunks))
                } else {
                    axum::body::Body::from(answer)
                };
                ([("content-type", "application/json")], body).into_response()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, requests)
}

/// A half-second tone for the request's `audioConfig`, as base64 of a WAV file.
fn synthesize(body: &serde_json::Value) -> String {
    let config = &body["audioConfig"];
    let rate = config["sampleRateHertz"].as_u64().unwrap_or(8000) as usize;
    let tone: Vec<i16> = (0..rate / 2)
        .map(|i| {
            (9000.0 * (2.0 * std::f64::consts::PI * 440.0 * i as f64 / rate as f64).sin()) as i16
        })
        .collect();
    let samples: Vec<u8> = if config["audioEncoding"] == "MULAW" {
        let mut out = vec![0u8; tone.len()];
        media::codec::Codec::encode(&mut media::codec::Pcmu::new(), &tone, &mut out).unwrap();
        out
    } else {
        tone.iter().flat_map(|s| s.to_le_bytes()).collect()
    };
    let mut wav = b"RIFF\0\0\0\0WAVEdata".to_vec();
    wav.extend((samples.len() as u32).to_le_bytes());
    wav.extend(samples);
    base64::engine::general_purpose::STANDARD.encode(wav)
}
