//! Loopback fakes of Amazon Transcribe streaming (HTTP/2 without TLS, the
//! event-stream body) and Polly `SynthesizeSpeech` (HTTP/1.1) for the
//! gateway's tests, both recomputing the SigV4 signature of every request
//! and refusing a mismatch with 403. Transcribe answers a talkspurt of loud
//! audio with a partial and then a settled transcript, or cuts the
//! connection while the caller speaks; Polly answers each text with a tone,
//! or cuts its first answer half-way.
//!
//! Shared by the simulator's and the real Asterisk's tests (`#[path]`).

#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::watch;
use voice_gateway::adapter::speech::aws::Credentials;
use voice_gateway::adapter::speech::aws::eventstream::{Decoder, Message, Value};
use voice_gateway::adapter::speech::aws::sigv4::{
    Authorization, Request, Signer, Stamp, sha256_hex,
};
use voice_gateway::adapter::speech::deepgram::ApiKey;

/// The access key the fakes accept.
pub(crate) const KEY: &str = "AKIDSIMTEST";
/// Its secret.
pub(crate) const SECRET: &str = "sim-secret-key";
/// What the Transcribe fake says for each talkspurt.
pub(crate) const HEARD: &str = "hello amazon";

/// The `[speech.aws]` section for fakes at these URLs, with the keys.
pub(crate) fn aws_section(transcribe: &str, polly: &str) -> String {
    format!(
        "{}access_key_id = \"{KEY}\"\nsecret_access_key = \"{SECRET}\"\n",
        aws_endpoints(transcribe, polly)
    )
}

/// The `[speech.aws]` section for fakes at these URLs, without keys: the
/// gateway finds them in the rest of the chain (environment, profile).
pub(crate) fn aws_endpoints(transcribe: &str, polly: &str) -> String {
    format!(
        "[speech.aws]\nregion = \"us-east-1\"\ntranscribe_endpoint = \"{transcribe}\"\n\
         polly_endpoint = \"{polly}\"\nlanguage = \"en-US\"\n"
    )
}

/// What the Transcribe fake does with a talkspurt.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Transcribe {
    /// Once 400 ms of it were loud: a partial, then the settled [`HEARD`].
    Hears,
    /// Once 200 ms of it were loud: the TCP connection is cut, no word said.
    Drops,
}

/// What the Polly fake does.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Polly {
    /// A 600 ms tone for every text.
    Speaks,
    /// The first answer breaks off after 100 ms of tone (the connection is
    /// cut mid-body); later ones are whole.
    CutsFirst,
}

/// Whether `headers` carry a valid signature of this request.
fn signed(path: &str, authority: &str, headers: &http::HeaderMap, payload_hash: &str) -> bool {
    let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    let Some(auth) = h("authorization").and_then(Authorization::parse) else {
        return false;
    };
    let scope: Vec<&str> = auth.scope.split('/').collect();
    let (Some(datetime), Some(region), Some(service)) =
        (h("x-amz-date"), scope.get(1), scope.get(2))
    else {
        return false;
    };
    let Some(credentials) = known(&auth.access_key_id) else {
        return false;
    };
    if let Some(token) = &credentials.session_token {
        let signed = auth
            .signed_headers
            .split(';')
            .any(|n| n == "x-amz-security-token");
        if !signed || h("x-amz-security-token") != Some(token.expose()) {
            return false;
        }
    }
    let signer = Signer {
        credentials,
        region: (*region).into(),
        service: (*service).into(),
    };
    let headers: Vec<(String, String)> = auth
        .signed_headers
        .split(';')
        .map(|n| {
            let value = h(n).unwrap_or(if n == "host" { authority } else { "" });
            (n.to_owned(), value.to_owned())
        })
        .collect();
    let request = Request {
        method: "POST",
        path: path.into(),
        headers,
        payload_hash: payload_hash.into(),
    };
    let stamp = Stamp {
        date: datetime.get(..8).unwrap_or_default().into(),
        datetime: datetime.into(),
        secs: 0,
    };
    signer.request_signature(&request, &stamp).0 == auth.signature
}

/// Temporary sets [`fake_imds`] issued: the fakes accept them too, with
/// their session token in `x-amz-security-token` (signed).
static ISSUED: Mutex<Vec<Credentials>> = Mutex::new(Vec::new());

fn known(access_key_id: &str) -> Option<Credentials> {
    let fixed = Credentials {
        access_key_id: KEY.into(),
        secret: ApiKey::new(SECRET),
        session_token: None,
    };
    let issued = ISSUED.lock().unwrap();
    std::iter::once(fixed)
        .chain(issued.iter().cloned())
        .find(|c| c.access_key_id == access_key_id)
}

/// A loopback EC2 instance metadata service (IMDSv2): a token for a `PUT
/// /latest/api/token` with its TTL header, 401 for any other request
/// without one of its tokens; one role, whose temporary credentials (a new
/// set each time, expiring in an hour) the Transcribe and Polly fakes then
/// accept. Returns its URL and how many sets it issued.
pub(crate) async fn fake_imds() -> (String, Arc<AtomicUsize>) {
    use axum::routing::{get, put};
    let issued = Arc::new(AtomicUsize::new(0));
    let tokens: Arc<Mutex<Vec<String>>> = Arc::default();
    let roles = "/latest/meta-data/iam/security-credentials/";
    let (t, count) = (tokens.clone(), issued.clone());
    let app = axum::Router::new()
        .route(
            "/latest/api/token",
            put(move |headers: http::HeaderMap| async move {
                if !headers.contains_key("x-aws-ec2-metadata-token-ttl-seconds") {
                    return Err(http::StatusCode::BAD_REQUEST);
                }
                let token = format!("imds-token-{}", t.lock().unwrap().len());
                t.lock().unwrap().push(token.clone());
                Ok(token)
            }),
        )
        .route(
            roles,
            get({
                let t = tokens.clone();
                move |headers: http::HeaderMap| async move {
                    authorized(&t, &headers)?;
                    Ok::<_, http::StatusCode>("gateway-role\n")
                }
            }),
        )
        .route(
            &format!("{roles}gateway-role"),
            get(move |headers: http::HeaderMap| async move {
                authorized(&tokens, &headers)?;
                Ok::<_, http::StatusCode>(issue(count.fetch_add(1, Ordering::SeqCst)))
            }),
        );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, issued)
}

fn authorized(
    tokens: &Mutex<Vec<String>>,
    headers: &http::HeaderMap,
) -> Result<(), http::StatusCode> {
    let given = headers
        .get("x-aws-ec2-metadata-token")
        .and_then(|v| v.to_str().ok());
    match given {
        Some(t) if tokens.lock().unwrap().iter().any(|k| k == t) => Ok(()),
        _ => Err(http::StatusCode::UNAUTHORIZED),
    }
}

fn issue(n: usize) -> String {
    let id = format!("ASIAIMDSFAKE{}N{n}", std::process::id());
    let c = Credentials {
        access_key_id: id.clone(),
        secret: ApiKey::new(format!("role-secret-{n}")),
        session_token: Some(ApiKey::new(format!("role-token-{n}"))),
    };
    ISSUED.lock().unwrap().push(c);
    let expires = std::time::SystemTime::now() + std::time::Duration::from_secs(3600);
    json!({
        "Code": "Success",
        "Type": "AWS-HMAC",
        "AccessKeyId": id,
        "SecretAccessKey": format!("role-secret-{n}"),
        "Token": format!("role-token-{n}"),
        "Expiration": humantime::format_rfc3339_seconds(expires).to_string(),
    })
    .to_string()
}

/// A 440 Hz tone of `ms` at `rate`, 16-bit little-endian.
fn tone(rate: usize, ms: usize) -> Vec<u8> {
    (0..rate * ms / 1000)
        .map(|i| {
            (8000.0 * (2.0 * std::f64::consts::PI * 440.0 * i as f64 / rate as f64).sin()) as i16
        })
        .flat_map(i16::to_le_bytes)
        .collect()
}

/// The Polly fake: its URL and the texts it was asked to speak (signed
/// requests only).
pub(crate) async fn fake_polly(mode: Polly) -> (String, Arc<Mutex<Vec<String>>>) {
    let texts = Arc::new(Mutex::new(Vec::new()));
    let kept = texts.clone();
    let app = axum::Router::new().route(
        "/v1/speech",
        axum::routing::post(move |headers: http::HeaderMap, body: Bytes| {
            let texts = kept.clone();
            async move { speak(mode, &texts, &headers, &body) }
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, texts)
}

fn speak(
    mode: Polly,
    texts: &Mutex<Vec<String>>,
    headers: &http::HeaderMap,
    body: &[u8],
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if !signed("/v1/speech", "", headers, &sha256_hex(body)) {
        return http::StatusCode::FORBIDDEN.into_response();
    }
    let Ok(req) = serde_json::from_slice::<serde_json::Value>(body) else {
        return http::StatusCode::BAD_REQUEST.into_response();
    };
    let rate: usize = req["SampleRate"]
        .as_str()
        .and_then(|r| r.parse().ok())
        .unwrap_or(8000);
    let first = {
        let mut texts = texts.lock().unwrap();
        texts.push(req["Text"].as_str().unwrap_or_default().to_owned());
        texts.len() == 1
    };
    if mode == Polly::CutsFirst && first {
        // Audio starts flowing, then the body breaks: hyper drops the
        // connection without the chunked body's end.
        let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
            Ok(Bytes::from(tone(rate, 100))),
            Err(std::io::Error::other("cut mid-body")),
        ];
        return axum::body::Body::from_stream(futures_util::stream::iter(chunks)).into_response();
    }
    (http::StatusCode::OK, tone(rate, 600)).into_response()
}

/// The Transcribe fake: its URL and how many streams it accepted (signed).
pub(crate) async fn fake_transcribe(mode: Transcribe) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let streams = Arc::new(AtomicUsize::new(0));
    let counted = streams.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            // As AWS's servers: no Nagle delay on small event frames.
            let _ = tcp.set_nodelay(true);
            tokio::spawn(connection(tcp, mode, counted.clone()));
        }
    });
    (url, streams)
}

/// Serves one HTTP/2 connection until the client closes it or a stream asks
/// for it to be cut (dropping `conn` closes the socket).
async fn connection(tcp: tokio::net::TcpStream, mode: Transcribe, streams: Arc<AtomicUsize>) {
    let Ok(mut conn) = h2::server::handshake(tcp).await else {
        return;
    };
    let (cut, mut cut_asked) = watch::channel(false);
    loop {
        tokio::select! {
            next = conn.accept() => {
                let Some(Ok((request, respond))) = next else { return };
                let talk = Talk { mode, cut: cut.clone(), streams: streams.clone() };
                tokio::spawn(talk.stream(request, respond));
            }
            _ = cut_asked.changed() => return,
        }
    }
}

/// One `StartStreamTranscription`.
struct Talk {
    mode: Transcribe,
    cut: watch::Sender<bool>,
    streams: Arc<AtomicUsize>,
}

impl Talk {
    async fn stream(
        self,
        request: http::Request<h2::RecvStream>,
        mut respond: h2::server::SendResponse<Bytes>,
    ) {
        let (parts, mut body) = request.into_parts();
        let authority = parts.uri.authority().map(|a| a.to_string());
        let ok = signed(
            "/stream-transcription",
            &authority.unwrap_or_default(),
            &parts.headers,
            "STREAMING-AWS4-HMAC-SHA256-EVENTS",
        );
        let status = if ok { 200 } else { 403 };
        let head = http::Response::builder().status(status).body(()).unwrap();
        let Ok(mut out) = respond.send_response(head, !ok) else {
            return;
        };
        if !ok {
            return;
        }
        self.streams.fetch_add(1, Ordering::SeqCst);
        let rate = parts
            .headers
            .get("x-amzn-transcribe-sample-rate")
            .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
            .unwrap_or(8000);
        let mut ear = Ear::new(rate);
        let mut outer = Decoder::default();
        while let Some(Ok(chunk)) = body.data().await {
            let _ = body.flow_control().release_capacity(chunk.len());
            outer.push(&chunk);
            while let Ok(Some(m)) = outer.next_message() {
                let Some(loud_ms) = ear.hear(&m.payload) else {
                    continue;
                };
                if self.mode == Transcribe::Drops && loud_ms >= 200 {
                    let _ = self.cut.send(true);
                    return;
                }
                if self.mode == Transcribe::Hears && ear.newly_said(loud_ms) {
                    for (text, partial) in [("hello", true), (HEARD, false)] {
                        let event = transcript(text, partial, ear.said);
                        let _ = out.send_data(Bytes::from(event.encode()), false);
                    }
                }
            }
        }
    }
}

/// Loudness of the audio events of one stream, talkspurt by talkspurt.
struct Ear {
    rate: usize,
    loud_ms: usize,
    spoken: bool,
    /// Talkspurts transcribed so far.
    said: usize,
}

impl Ear {
    fn new(rate: usize) -> Self {
        Self {
            rate,
            loud_ms: 0,
            spoken: false,
            said: 0,
        }
    }

    /// The loud time of the current talkspurt after this outer message (an
    /// audio event inside); `None` when it was quiet or not audio.
    fn hear(&mut self, outer_payload: &[u8]) -> Option<usize> {
        let mut inner = Decoder::default();
        inner.push(outer_payload);
        let audio = inner.next_message().ok()??;
        let pcm: Vec<i16> = audio
            .payload
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect();
        if rms(&pcm) < 1500.0 {
            (self.loud_ms, self.spoken) = (0, false);
            return None;
        }
        self.loud_ms += pcm.len() * 1000 / self.rate;
        Some(self.loud_ms)
    }

    /// Whether this talkspurt is now long enough to transcribe, once.
    fn newly_said(&mut self, loud_ms: usize) -> bool {
        if loud_ms < 400 || self.spoken {
            return false;
        }
        self.spoken = true;
        self.said += 1;
        true
    }
}

fn rms(pcm: &[i16]) -> f64 {
    (pcm.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / pcm.len().max(1) as f64).sqrt()
}

fn transcript(text: &str, partial: bool, n: usize) -> Message {
    let payload = json!({"Transcript": {"Results": [{
        "Alternatives": [{"Transcript": text, "Items": []}],
        "StartTime": n as f64, "EndTime": n as f64 + 0.5, "IsPartial": partial,
        "ResultId": format!("r{n}")}]}});
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
