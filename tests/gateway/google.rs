//! Calls through the simulator with Google as the speech provider, against
//! loopback fakes of Speech-to-Text v2 (gRPC `StreamingRecognize`) and
//! Text-to-Speech (`text:synthesize`): a conversation with Google as
//! primary, and a fallback to the next provider when Google's stream drops
//! mid-call.

use crate::rig::{Rig, speech};
use base64::Engine;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::{mpsc, watch};
use tonic::codegen::http;
use tonic::{Status, Streaming};
use vg_asterisk_sim::SimConfig;
use voice_gateway::adapter::speech::google::proto::{
    Duration as PDuration, STREAMING_RECOGNIZE, SpeechRecognitionAlternative,
    StreamingRecognitionResult, StreamingRecognizeRequest as Req,
    StreamingRecognizeResponse as Resp, StreamingRequest,
};

/// What the fake recogniser does once it hears loud audio.
#[derive(Clone, Copy, PartialEq)]
enum Stt {
    /// An interim, then on half-close the final "hello google".
    Hears,
    /// Drops the connection.
    Drops,
}

/// The fake Speech-to-Text: its URL and how many calls it took.
async fn fake_stt(mode: Stt) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
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
        || req
            .headers()
            .get("x-goog-api-key")
            .is_none_or(|k| k != "g-key")
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

/// The fake Text-to-Speech: a loud tone for every sentence, in the encoding
/// asked for, inside a WAV header as Google sends it; counts requests.
async fn fake_tts() -> (String, Arc<AtomicUsize>) {
    let requests = Arc::new(AtomicUsize::new(0));
    let counted = requests.clone();
    let app = axum::Router::new().route(
        "/v1/text:synthesize",
        axum::routing::post(move |body: axum::Json<serde_json::Value>| {
            let counted = counted.clone();
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
                let config = &body["audioConfig"];
                let rate = config["sampleRateHertz"].as_u64().unwrap_or(8000) as usize;
                let tone: Vec<i16> = (0..rate / 2)
                    .map(|i| {
                        (9000.0
                            * (2.0 * std::f64::consts::PI * 440.0 * i as f64 / rate as f64).sin())
                            as i16
                    })
                    .collect();
                let samples: Vec<u8> = if config["audioEncoding"] == "MULAW" {
                    let mut out = vec![0u8; tone.len()];
                    media::codec::Codec::encode(&mut media::codec::Pcmu::new(), &tone, &mut out)
                        .unwrap();
                    out
                } else {
                    tone.iter().flat_map(|s| s.to_le_bytes()).collect()
                };
                let mut wav = b"RIFF\0\0\0\0WAVEdata".to_vec();
                wav.extend((samples.len() as u32).to_le_bytes());
                wav.extend(samples);
                let b64 = base64::engine::general_purpose::STANDARD.encode(wav);
                axum::Json(serde_json::json!({ "audioContent": b64 }))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, requests)
}

fn google_section(stt: &str, tts: &str) -> String {
    format!(
        "[speech.google]\napi_key = \"g-key\"\nproject = \"p\"\n\
         stt_endpoint = \"{stt}\"\ntts_endpoint = \"{tts}\"\n"
    )
}

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_converses_with_google_speech() {
    let (stt, stt_calls) = fake_stt(Stt::Hears).await;
    let (tts, tts_requests) = fake_tts().await;
    let rig = Rig::start_with_env(
        SimConfig::default(),
        &google_section(&stt, &tts),
        env(&[
            ("VOICEGW__SPEECH__STT", "google"),
            ("VOICEGW__SPEECH__TTS", "google"),
        ]),
    )
    .await;
    let call = rig.sim.place_inbound_call("+15551234567", "+15557654321");
    rig.greeting_heard(call).await;
    assert!(
        tts_requests.load(Ordering::SeqCst) >= 1,
        "the greeting came from Google"
    );
    assert!(rig.sim.caller_say(call, &speech(1200)));
    rig.until("the transcript from Google", |r| {
        r.events()
            .iter()
            .any(|e| e["type"] == "stt.transcribed" && e["data"]["text"] == "hello google")
    })
    .await;
    rig.until_count("tts.generated", 2).await;
    assert!(stt_calls.load(Ordering::SeqCst) >= 1);
    rig.sim.caller_hangup(call);
    rig.all_released().await;
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_googles_stream_drops_mid_call_the_next_provider_takes_the_turn() {
    let (stt, stt_calls) = fake_stt(Stt::Drops).await;
    let (tts, _) = fake_tts().await;
    let rig = Rig::start_with_env(
        SimConfig::default(),
        &google_section(&stt, &tts),
        env(&[
            ("VOICEGW__SPEECH__STT", "google"),
            ("VOICEGW__SPEECH__STT_FALLBACK", "[\"fake\"]"),
        ]),
    )
    .await;
    let call = rig.sim.place_inbound_call("+15551234567", "+15557654321");
    rig.greeting_heard(call).await;
    assert!(rig.sim.caller_say(call, &speech(1200)));
    // Google's fake never transcribes in this mode: the in-process fake
    // recogniser, which names the turns it hears, took this one.
    rig.until("the backup's transcript", |r| {
        r.events()
            .iter()
            .any(|e| e["type"] == "stt.transcribed" && e["data"]["text"] == "utterance 1")
    })
    .await;
    assert!(
        stt_calls.load(Ordering::SeqCst) >= 1,
        "Google was tried first"
    );
    rig.until_count("tts.generated", 2).await;
    rig.sim.caller_hangup(call);
    rig.all_released().await;
    rig.stop().await;
}
