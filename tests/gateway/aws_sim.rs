//! A call through the simulator with Amazon Transcribe streaming
//! (`stt = "aws"`) and Polly (`tts = "polly"`) as the primary providers, both
//! loopback fakes that recompute the SigV4 signature of every request: Polly
//! answers each text with a tone, Transcribe answers a talkspurt of loud
//! audio with a partial and then a settled transcript.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use serde_json::json;
use tokio::net::TcpListener;
use vg_asterisk_sim::SimConfig;
use voice_gateway::adapter::speech::aws::Credentials;
use voice_gateway::adapter::speech::aws::eventstream::{Decoder, Message, Value};
use voice_gateway::adapter::speech::aws::sigv4::{
    Authorization, Request, Signer, Stamp, sha256_hex,
};
use voice_gateway::adapter::speech::deepgram::ApiKey;

use crate::rig::{Rig, rms, speech};

const KEY: &str = "AKIDSIMTEST";
const SECRET: &str = "sim-secret-key";

/// Whether `headers` carry a valid signature of this request.
fn signed(path: &str, authority: &str, headers: &http::HeaderMap, payload_hash: &str) -> bool {
    let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    let Some(auth) = h("authorization").and_then(Authorization::parse) else {
        return false;
    };
    let scope: Vec<&str> = auth.scope.split('/').collect();
    let Some(datetime) = h("x-amz-date") else {
        return false;
    };
    let signer = Signer {
        credentials: Credentials {
            access_key_id: KEY.into(),
            secret: ApiKey::new(SECRET),
            session_token: None,
        },
        region: scope[1].into(),
        service: scope[2].into(),
    };
    let headers: Vec<(String, String)> = auth
        .signed_headers
        .split(';')
        .map(|n| {
            (
                n.to_owned(),
                h(n).unwrap_or(if n == "host" { authority } else { "" })
                    .to_owned(),
            )
        })
        .collect();
    let request = Request {
        method: "POST",
        path: path.into(),
        headers,
        payload_hash: payload_hash.into(),
    };
    let stamp = Stamp {
        date: datetime[..8].into(),
        datetime: datetime.into(),
        secs: 0,
    };
    auth.access_key_id == KEY && signer.request_signature(&request, &stamp).0 == auth.signature
}

/// Polly: a 600 ms tone at the asked rate per text; the texts are kept.
async fn fake_polly(texts: Arc<Mutex<Vec<String>>>) -> String {
    let app = axum::Router::new().route(
        "/v1/speech",
        axum::routing::post(move |headers: http::HeaderMap, body: Bytes| {
            let texts = texts.clone();
            async move {
                if !signed("/v1/speech", "", &headers, &sha256_hex(&body)) {
                    return (http::StatusCode::FORBIDDEN, Vec::new());
                }
                let req: serde_json::Value = serde_json::from_slice(&body).unwrap();
                texts
                    .lock()
                    .unwrap()
                    .push(req["Text"].as_str().unwrap().to_owned());
                let rate: usize = req["SampleRate"].as_str().unwrap().parse().unwrap();
                let pcm: Vec<u8> = (0..rate * 6 / 10)
                    .map(|i| {
                        (8000.0
                            * (2.0 * std::f64::consts::PI * 440.0 * i as f64 / rate as f64).sin())
                            as i16
                    })
                    .flat_map(i16::to_le_bytes)
                    .collect();
                (http::StatusCode::OK, pcm)
            }
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// Transcribe over HTTP/2 without TLS.
async fn fake_transcribe() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut conn = h2::server::handshake(tcp).await.unwrap();
                while let Some(Ok((request, respond))) = conn.accept().await {
                    tokio::spawn(transcribe_stream(request, respond));
                }
            });
        }
    });
    url
}

async fn transcribe_stream(
    request: http::Request<h2::RecvStream>,
    mut respond: h2::server::SendResponse<Bytes>,
) {
    let (parts, mut body) = request.into_parts();
    let authority = parts.uri.authority().unwrap().to_string();
    let ok = signed(
        "/stream-transcription",
        &authority,
        &parts.headers,
        "STREAMING-AWS4-HMAC-SHA256-EVENTS",
    );
    let status = if ok { 200 } else { 403 };
    let head = http::Response::builder().status(status).body(()).unwrap();
    let mut out = respond.send_response(head, !ok).unwrap();
    if !ok {
        return;
    }
    let (mut outer, mut loud_ms, mut said, mut n) = (Decoder::default(), 0usize, false, 0);
    while let Some(Ok(chunk)) = body.data().await {
        let _ = body.flow_control().release_capacity(chunk.len());
        outer.push(&chunk);
        while let Ok(Some(m)) = outer.next_message() {
            let mut inner = Decoder::default();
            inner.push(&m.payload);
            let Ok(Some(audio)) = inner.next_message() else {
                continue;
            };
            let pcm: Vec<i16> = audio
                .payload
                .chunks_exact(2)
                .map(|b| i16::from_le_bytes([b[0], b[1]]))
                .collect();
            let rate = parts.headers["x-amzn-transcribe-sample-rate"]
                .to_str()
                .unwrap()
                .parse::<usize>()
                .unwrap();
            // One transcript per talkspurt, once 400 ms of it were loud.
            if rms(&pcm) < 2000.0 {
                (loud_ms, said) = (0, false);
                continue;
            }
            loud_ms += pcm.len() * 1000 / rate;
            if loud_ms >= 400 && !said {
                said = true;
                n += 1;
                for (text, partial) in [("I need", true), ("I need billing", false)] {
                    let _ =
                        out.send_data(Bytes::from(transcript(text, partial, n).encode()), false);
                }
            }
        }
    }
}

fn transcript(text: &str, partial: bool, n: usize) -> Message {
    let payload = json!({"Transcript": {"Results": [{
        "Alternatives": [{"Transcript": text, "Items": []}],
        "StartTime": n as f64, "EndTime": n as f64 + 0.5, "IsPartial": partial, "ResultId": format!("r{n}")}]}});
    let s = |v: &str| Value::String(v.into());
    Message {
        headers: vec![
            (":message-type".into(), s("event")),
            (":event-type".into(), s("TranscriptEvent")),
            (":content-type".into(), s("application/json")),
        ],
        payload: payload.to_string().into_bytes(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_with_transcribe_and_polly_as_primary_holds_a_conversation() {
    let texts = Arc::new(Mutex::new(Vec::new()));
    let (polly, transcribe) = (fake_polly(texts.clone()).await, fake_transcribe().await);
    let rig = Rig::start_with_env(
        SimConfig::default(),
        &format!(
            "[speech.aws]\nregion = \"us-east-1\"\naccess_key_id = \"{KEY}\"\nsecret_access_key = \"{SECRET}\"\n\
             transcribe_endpoint = \"{transcribe}\"\npolly_endpoint = \"{polly}\"\nlanguage = \"en-US\"\n"
        ),
        vec![
            ("VOICEGW__SPEECH__STT".into(), "aws".into()),
            ("VOICEGW__SPEECH__TTS".into(), "polly".into()),
        ],
    )
    .await;
    let call = rig.sim.place_inbound_call("+15551234567", "+15557654321");
    rig.greeting_heard(call).await;
    let heard_before = rig.sim.heard_pcm(call).len();
    assert!(rig.sim.caller_say(call, &speech(1200)));
    rig.until_count("tts.generated", 2).await;
    assert_eq!(rig.data("stt.transcribed", 0)["text"], "I need billing");
    rig.until("the reply heard", |r| {
        r.sim.heard_pcm(call).len() > heard_before + 4000
    })
    .await;
    assert!(
        texts.lock().unwrap().len() >= 2,
        "{:?}",
        texts.lock().unwrap()
    );
    rig.sim.caller_hangup(call);
    rig.all_released().await;
    assert_eq!(rig.data("call.ended", 0)["tts_providers"], json!(["polly"]));
    rig.stop().await;
}
