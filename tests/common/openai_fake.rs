//! A fake of OpenAI's speech-to-text on one loopback port, speaking the wire
//! protocol: the Realtime API's transcription sessions over WebSocket
//! (`GET /v1/realtime?intent=transcription` with `Authorization: Bearer` and
//! `OpenAI-Beta: realtime=v1`) and `POST /v1/audio/transcriptions`
//! (multipart). Transcripts are scripted (one per committed utterance or
//! request); the audio is checked (base64, at least 100 ms per commit, a WAV
//! file) and logged. Faults: a bad key (401), throttling, a dropped
//! connection mid-stream, a failed transcription, the realtime endpoint down.
//!
//! Shared by the adapter's unit tests and the gateway's integration tests.
#![allow(dead_code)]

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;

/// A failure to play.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Fault {
    /// Realtime: an `error` event (`rate_limit_exceeded`) answers the session
    /// update; REST: HTTP 429.
    RateLimited,
    /// Realtime: the TCP connection drops, without a close frame, once this
    /// many `append`s arrived.
    DisconnectAfterAppends(usize),
    /// Realtime: the TCP connection drops once this much loud audio (a
    /// caller speaking, not the silence between utterances) arrived.
    DisconnectAfterSpeech(Duration),
    /// Realtime: each commit is answered by `committed` and then
    /// `conversation.item.input_audio_transcription.failed`.
    TranscriptionFails,
    /// REST: HTTP 500.
    RestFails,
    /// Realtime: each commit is answered by a text message that is not JSON.
    GarbageOnCommit,
    /// Realtime upgrades are answered with HTTP 503; REST works.
    RealtimeDown,
    /// Speech: the first answer's body breaks off half-way (the connection
    /// is closed short of its `content-length`); later ones are whole.
    SpeechCutsFirst,
}

/// One `POST /v1/audio/transcriptions`.
#[derive(Debug, Clone)]
pub(crate) struct RestCall {
    /// The text fields (`model`, `language`, `response_format`, …).
    pub(crate) fields: BTreeMap<String, String>,
    /// The `file` part.
    pub(crate) file: Vec<u8>,
}

/// What the fake saw.
#[derive(Debug, Clone, Default)]
pub(crate) struct Log {
    /// Realtime connections accepted (past the auth check).
    pub(crate) connections: usize,
    /// The `session` of each `transcription_session.update`.
    pub(crate) sessions: Vec<Value>,
    /// Audio bytes appended, in all sessions.
    pub(crate) appended_bytes: usize,
    /// Audio bytes of each committed utterance, in order.
    pub(crate) committed_bytes: Vec<usize>,
    /// `input_audio_buffer.clear`s.
    pub(crate) clears: usize,
    /// REST requests.
    pub(crate) rest: Vec<RestCall>,
    /// Requests refused for their key.
    pub(crate) unauthorized: usize,
    /// The JSON bodies of `POST /v1/audio/speech`.
    pub(crate) speech: Vec<Value>,
}

struct State {
    key: String,
    faults: Vec<Fault>,
    transcripts: VecDeque<String>,
    default_transcript: String,
    delta_delay: Duration,
    log: Log,
}

/// The server; `url` is `http://127.0.0.1:<port>` (a `base_url`).
pub(crate) struct FakeOpenAi {
    pub(crate) url: String,
    state: Arc<Mutex<State>>,
    accept: tokio::task::JoinHandle<()>,
}

impl Drop for FakeOpenAi {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl FakeOpenAi {
    /// A server accepting `Bearer <key>`.
    pub(crate) async fn start(key: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State {
            key: key.to_owned(),
            faults: Vec::new(),
            transcripts: VecDeque::new(),
            default_transcript: String::new(),
            delta_delay: Duration::ZERO,
            log: Log::default(),
        }));
        let shared = state.clone();
        let accept = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                // Small events go out at once, as a real server sends them
                // (Nagle would hold each behind the client's delayed ACK).
                let _ = tcp.set_nodelay(true);
                tokio::spawn(serve(tcp, shared.clone()));
            }
        });
        Self { url, state, accept }
    }

    /// The realtime URL the adapter derives from `url`.
    pub(crate) fn realtime_url(&self) -> String {
        format!(
            "{}/v1/realtime?intent=transcription",
            self.url.replacen("http", "ws", 1)
        )
    }

    /// The transcripts of the next utterances, in order.
    pub(crate) fn script(&self, texts: &[&str]) {
        let mut s = self.state.lock().unwrap();
        s.transcripts.extend(texts.iter().map(|t| (*t).to_owned()));
    }

    /// The transcript once the script ran out (empty by default).
    pub(crate) fn set_default_transcript(&self, text: &str) {
        self.state.lock().unwrap().default_transcript = text.to_owned();
    }

    /// Pause between deltas (to measure or to interleave).
    pub(crate) fn set_delta_delay(&self, d: Duration) {
        self.state.lock().unwrap().delta_delay = d;
    }

    /// The fault to play from now on (`None`: behave).
    pub(crate) fn set_fault(&self, fault: Option<Fault>) {
        self.set_faults(fault.as_slice());
    }

    /// Several faults at once (a realtime one and a REST one).
    pub(crate) fn set_faults(&self, faults: &[Fault]) {
        self.state.lock().unwrap().faults = faults.to_vec();
    }

    pub(crate) fn log(&self) -> Log {
        self.state.lock().unwrap().log.clone()
    }
}

fn next_transcript(state: &Mutex<State>) -> String {
    let mut s = state.lock().unwrap();
    let fallback = s.default_transcript.clone();
    s.transcripts.pop_front().unwrap_or(fallback)
}

fn has(state: &Mutex<State>, fault: &Fault) -> bool {
    state.lock().unwrap().faults.contains(fault)
}

fn faults(state: &Mutex<State>) -> Vec<Fault> {
    state.lock().unwrap().faults.clone()
}

/// A request head: method, target, lower-case headers; and the bytes read past it.
struct Head {
    method: String,
    target: String,
    headers: BTreeMap<String, String>,
    rest: Vec<u8>,
}

async fn read_head(tcp: &mut TcpStream) -> Option<Head> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > 64 * 1024 {
            return None;
        }
        let n = tcp.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let text = String::from_utf8_lossy(&buf[..end]).into_owned();
    let mut lines = text.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, target) = (first.next()?.to_owned(), first.next()?.to_owned());
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Some(Head {
        method,
        target,
        headers,
        rest: buf[end + 4..].to_vec(),
    })
}

async fn respond(tcp: &mut TcpStream, status: u16, body: &Value) {
    let body = body.to_string();
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        _ => "Service Unavailable",
    };
    let text = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tcp.write_all(text.as_bytes()).await;
    let _ = tcp.shutdown().await;
}

fn api_error(kind: &str, code: &str, message: &str) -> Value {
    json!({"type": kind, "code": code, "message": message, "param": null})
}

async fn serve(mut tcp: TcpStream, state: Arc<Mutex<State>>) {
    let Some(head) = read_head(&mut tcp).await else {
        return;
    };
    let key = format!("Bearer {}", state.lock().unwrap().key);
    if head.headers.get("authorization") != Some(&key) {
        state.lock().unwrap().log.unauthorized += 1;
        let e = api_error(
            "invalid_request_error",
            "invalid_api_key",
            "Incorrect API key provided.",
        );
        return respond(&mut tcp, 401, &json!({ "error": e })).await;
    }
    let upgrade = head
        .headers
        .get("upgrade")
        .is_some_and(|u| u.eq_ignore_ascii_case("websocket"));
    match (head.method.as_str(), head.target.as_str(), upgrade) {
        ("GET", "/v1/realtime?intent=transcription", true) => realtime(tcp, head, state).await,
        ("POST", "/v1/audio/transcriptions", false) => transcriptions(tcp, head, state).await,
        ("POST", "/v1/audio/speech", false) => speech(tcp, head, state).await,
        _ => {
            let e = api_error("invalid_request_error", "not_found", "Unknown endpoint.");
            respond(&mut tcp, 404, &json!({ "error": e })).await
        }
    }
}

async fn realtime(mut tcp: TcpStream, head: Head, state: Arc<Mutex<State>>) {
    if has(&state, &Fault::RealtimeDown) {
        let e = api_error("server_error", "unavailable", "The server is overloaded.");
        return respond(&mut tcp, 503, &json!({ "error": e })).await;
    }
    if head.headers.get("openai-beta").map(String::as_str) != Some("realtime=v1") {
        let e = api_error(
            "invalid_request_error",
            "missing_beta",
            "This interface needs OpenAI-Beta: realtime=v1.",
        );
        return respond(&mut tcp, 400, &json!({ "error": e })).await;
    }
    let Some(key) = head.headers.get("sec-websocket-key") else {
        return respond(&mut tcp, 400, &json!({})).await;
    };
    let accept = derive_accept_key(key.as_bytes());
    let answer = format!(
        "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\
         sec-websocket-accept: {accept}\r\n\r\n"
    );
    if tcp.write_all(answer.as_bytes()).await.is_err() {
        return;
    }
    state.lock().unwrap().log.connections += 1;
    let ws = WebSocketStream::from_raw_socket(tcp, Role::Server, None).await;
    let _ = Session::new(state).run(ws).await;
}

struct Session {
    state: Arc<Mutex<State>>,
    format: String,
    model: String,
    buffered: usize,
    appends: usize,
    loud_samples: usize,
    items: usize,
    events: usize,
}

type Ws = WebSocketStream<TcpStream>;

impl Session {
    fn new(state: Arc<Mutex<State>>) -> Self {
        Self {
            state,
            format: "pcm16".into(),
            model: "whisper-1".into(),
            buffered: 0,
            appends: 0,
            loud_samples: 0,
            items: 0,
            events: 0,
        }
    }

    async fn send(&mut self, ws: &mut Ws, mut event: Value) -> Result<(), ()> {
        self.events += 1;
        event["event_id"] = json!(format!("event_{}", self.events));
        ws.send(Message::text(event.to_string()))
            .await
            .map_err(drop)
    }

    async fn error(&mut self, ws: &mut Ws, e: Value) -> Result<(), ()> {
        self.send(ws, json!({"type": "error", "error": e})).await
    }

    fn session(&self) -> Value {
        json!({
            "id": "sess_fake", "object": "realtime.transcription_session",
            "input_audio_format": self.format,
            "input_audio_transcription": {"model": self.model},
            "turn_detection": null,
        })
    }

    async fn run(mut self, mut ws: Ws) -> Result<(), ()> {
        let created = json!({"type": "transcription_session.created", "session": self.session()});
        self.send(&mut ws, created).await?;
        while let Some(Ok(message)) = ws.next().await {
            let text = match message {
                Message::Text(t) => t.as_str().to_owned(),
                Message::Close(_) => return Ok(()),
                _ => continue,
            };
            let Ok(event) = serde_json::from_str::<Value>(&text) else {
                let e = api_error("invalid_request_error", "invalid_json", "Not JSON.");
                self.error(&mut ws, e).await?;
                continue;
            };
            self.on_event(&mut ws, event).await?;
        }
        Ok(())
    }

    async fn on_event(&mut self, ws: &mut Ws, event: Value) -> Result<(), ()> {
        match event["type"].as_str().unwrap_or_default() {
            "transcription_session.update" => self.update(ws, &event["session"]).await,
            "input_audio_buffer.append" => self.append(ws, &event).await,
            "input_audio_buffer.commit" => self.commit(ws).await,
            "input_audio_buffer.clear" => {
                self.buffered = 0;
                self.state.lock().unwrap().log.clears += 1;
                self.send(ws, json!({"type": "input_audio_buffer.cleared"}))
                    .await
            }
            other => {
                let message = format!("Invalid value: '{other}'.");
                let e = api_error("invalid_request_error", "invalid_value", &message);
                self.error(ws, e).await
            }
        }
    }

    async fn update(&mut self, ws: &mut Ws, session: &Value) -> Result<(), ()> {
        self.state
            .lock()
            .unwrap()
            .log
            .sessions
            .push(session.clone());
        if has(&self.state, &Fault::RateLimited) {
            let e = api_error(
                "requests",
                "rate_limit_exceeded",
                "Rate limit reached for requests. Please try again in 20s.",
            );
            return self.error(ws, e).await;
        }
        let format = session["input_audio_format"].as_str().unwrap_or("pcm16");
        let model = session["input_audio_transcription"]["model"]
            .as_str()
            .unwrap_or("whisper-1");
        let formats = ["pcm16", "g711_ulaw", "g711_alaw"];
        let models = ["whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe"];
        if !formats.contains(&format) || !models.contains(&model) {
            let message = format!("Invalid format {format:?} or model {model:?}.");
            let e = api_error("invalid_request_error", "invalid_value", &message);
            return self.error(ws, e).await;
        }
        (self.format, self.model) = (format.to_owned(), model.to_owned());
        let updated = json!({"type": "transcription_session.updated", "session": self.session()});
        self.send(ws, updated).await
    }

    async fn append(&mut self, ws: &mut Ws, event: &Value) -> Result<(), ()> {
        let audio = event["audio"].as_str().unwrap_or_default();
        let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(audio) else {
            let e = api_error("invalid_request_error", "invalid_value", "Invalid base64.");
            return self.error(ws, e).await;
        };
        self.buffered += bytes.len();
        self.appends += 1;
        self.state.lock().unwrap().log.appended_bytes += bytes.len();
        self.loud_samples += loud_samples(&self.format, &bytes);
        let per_ms = if self.format == "pcm16" { 24 } else { 8 };
        let loud = Duration::from_millis((self.loud_samples / per_ms) as u64);
        let drop_now = faults(&self.state).iter().any(|f| match f {
            Fault::DisconnectAfterAppends(n) => *n == self.appends,
            Fault::DisconnectAfterSpeech(d) => loud >= *d,
            _ => false,
        });
        // Dropping the stream resets the connection: no close frame.
        if drop_now { Err(()) } else { Ok(()) }
    }

    /// Bytes in 100 ms of the session's format.
    fn min_bytes(&self) -> usize {
        if self.format == "pcm16" { 4_800 } else { 800 }
    }

    async fn commit(&mut self, ws: &mut Ws) -> Result<(), ()> {
        if self.buffered < self.min_bytes() {
            let message = format!(
                "Error committing input audio buffer: buffer too small. Expected at least \
                 100ms of audio, but buffer only has {} bytes.",
                self.buffered
            );
            let e = api_error(
                "invalid_request_error",
                "input_audio_buffer_commit_empty",
                &message,
            );
            return self.error(ws, e).await;
        }
        let bytes = std::mem::take(&mut self.buffered);
        self.state.lock().unwrap().log.committed_bytes.push(bytes);
        if has(&self.state, &Fault::GarbageOnCommit) {
            return ws
                .send(Message::text("{\"type\": \"input_audio_buffer.comm"))
                .await
                .map_err(drop);
        }
        self.items += 1;
        let item_id = format!("item_{}", self.items);
        let previous = (self.items > 1).then(|| format!("item_{}", self.items - 1));
        let committed = json!({"type": "input_audio_buffer.committed",
            "previous_item_id": previous, "item_id": item_id});
        self.send(ws, committed).await?;
        let created = json!({"type": "conversation.item.created", "previous_item_id": previous,
            "item": {"id": item_id, "object": "realtime.item", "type": "message", "role": "user",
                     "content": [{"type": "input_audio", "transcript": null}]}});
        self.send(ws, created).await?;
        if has(&self.state, &Fault::TranscriptionFails) {
            let e = api_error(
                "server_error",
                "transcription_failed",
                "Input transcription failed.",
            );
            let failed = json!({"type": "conversation.item.input_audio_transcription.failed",
                "item_id": item_id, "content_index": 0, "error": e});
            return self.send(ws, failed).await;
        }
        self.transcribe(ws, &item_id).await
    }

    async fn transcribe(&mut self, ws: &mut Ws, item_id: &str) -> Result<(), ()> {
        let transcript = next_transcript(&self.state);
        let delay = self.state.lock().unwrap().delta_delay;
        // whisper-1 sends the whole transcript as one delta; the others stream.
        let deltas: Vec<String> = if self.model == "whisper-1" {
            vec![transcript.clone()]
        } else {
            transcript.split_inclusive(' ').map(str::to_owned).collect()
        };
        for delta in deltas {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            let event = json!({"type": "conversation.item.input_audio_transcription.delta",
                "item_id": item_id, "content_index": 0, "delta": delta});
            self.send(ws, event).await?;
        }
        let completed = json!({"type": "conversation.item.input_audio_transcription.completed",
            "item_id": item_id, "content_index": 0, "transcript": transcript});
        self.send(ws, completed).await
    }
}

fn bad(message: &str) -> Value {
    json!({"error": api_error("invalid_request_error", "invalid_value", message)})
}

/// The request body (by `content-length`); `None` after answering 400 or
/// when the client went away.
async fn read_body(tcp: &mut TcpStream, head: Head) -> Option<Vec<u8>> {
    let Some(length) = head
        .headers
        .get("content-length")
        .and_then(|l| l.parse::<usize>().ok())
    else {
        respond(tcp, 400, &bad("A content-length is required.")).await;
        return None;
    };
    let mut body = head.rest;
    while body.len() < length {
        let mut chunk = vec![0u8; (length - body.len()).min(64 * 1024)];
        match tcp.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
    Some(body)
}

/// `POST /v1/audio/speech`: 600 ms of a 440 Hz tone as 24 kHz `pcm`.
async fn speech(mut tcp: TcpStream, head: Head, state: Arc<Mutex<State>>) {
    let Some(body) = read_body(&mut tcp, head).await else {
        return;
    };
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return respond(&mut tcp, 400, &bad("The body is not JSON.")).await;
    };
    let text = request["input"].as_str().unwrap_or_default();
    if text.is_empty() || request["response_format"] != "pcm" || !request["model"].is_string() {
        return respond(&mut tcp, 400, &bad("input, model and pcm are required.")).await;
    }
    let first = {
        let mut s = state.lock().unwrap();
        s.log.speech.push(request.clone());
        s.log.speech.len() == 1
    };
    let pcm: Vec<u8> = (0..24_000 * 6 / 10)
        .map(|i| {
            (8000.0 * (2.0 * std::f64::consts::PI * 440.0 * f64::from(i) / 24_000.0).sin()) as i16
        })
        .flat_map(i16::to_le_bytes)
        .collect();
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: audio/pcm\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n",
        pcm.len()
    );
    let cut = first && has(&state, &Fault::SpeechCutsFirst);
    let sent = if cut { &pcm[..pcm.len() / 2] } else { &pcm[..] };
    let _ = tcp.write_all(head.as_bytes()).await;
    let _ = tcp.write_all(sent).await;
    let _ = tcp.shutdown().await;
}

async fn transcriptions(mut tcp: TcpStream, head: Head, state: Arc<Mutex<State>>) {
    let content_type = head
        .headers
        .get("content-type")
        .cloned()
        .unwrap_or_default();
    let Some(body) = read_body(&mut tcp, head).await else {
        return;
    };
    if has(&state, &Fault::RateLimited) {
        let e = api_error(
            "requests",
            "rate_limit_exceeded",
            "Rate limit reached for requests.",
        );
        return respond(&mut tcp, 429, &json!({ "error": e })).await;
    }
    if has(&state, &Fault::RestFails) {
        let e = api_error("server_error", "server_error", "The server had an error.");
        return respond(&mut tcp, 500, &json!({ "error": e })).await;
    }
    let Some(call) = parse_multipart(&content_type, &body) else {
        return respond(&mut tcp, 400, &bad("Could not parse multipart form.")).await;
    };
    let is_wav =
        call.file.len() >= 44 && &call.file[..4] == b"RIFF" && &call.file[8..12] == b"WAVE";
    if !is_wav || !call.fields.contains_key("model") {
        return respond(&mut tcp, 400, &bad("A WAV file and a model are required.")).await;
    }
    state.lock().unwrap().log.rest.push(call);
    let text = next_transcript(&state);
    respond(&mut tcp, 200, &json!({ "text": text })).await
}

/// The parts of a `multipart/form-data` body: text fields, and the `file`.
fn parse_multipart(content_type: &str, body: &[u8]) -> Option<RestCall> {
    let boundary = content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))?
        .trim_matches('"');
    let delimiter = format!("--{boundary}");
    let mut call = RestCall {
        fields: BTreeMap::new(),
        file: Vec::new(),
    };
    let mut rest = body;
    let mut found_end = false;
    while let Some(at) = find(rest, delimiter.as_bytes()) {
        let after = &rest[at + delimiter.len()..];
        if after.starts_with(b"--") {
            found_end = true;
            break;
        }
        let after = after.strip_prefix(b"\r\n")?;
        let next = find(after, format!("\r\n{delimiter}").as_bytes())?;
        let part = &after[..next];
        let split = find(part, b"\r\n\r\n")?;
        let headers = String::from_utf8_lossy(&part[..split]).to_ascii_lowercase();
        let value = &part[split + 4..];
        let name = headers
            .split("name=\"")
            .nth(1)?
            .split('"')
            .next()?
            .to_owned();
        if name == "file" {
            call.file = value.to_vec();
        } else {
            call.fields
                .insert(name, String::from_utf8_lossy(value).into_owned());
        }
        rest = &after[next + 2..];
    }
    found_end.then_some(call)
}

/// Samples louder than about -30 dBFS in `bytes` of `format`.
fn loud_samples(format: &str, bytes: &[u8]) -> usize {
    let loud = |s: i32| s.abs() > 1_000;
    if format == "pcm16" {
        bytes
            .chunks_exact(2)
            .filter(|b| loud(i32::from(i16::from_le_bytes([b[0], b[1]]))))
            .count()
    } else {
        bytes.iter().filter(|&&b| loud(ulaw_decode(b))).count()
    }
}

/// G.711 µ-law to linear (ITU-T G.711).
fn ulaw_decode(byte: u8) -> i32 {
    let u = !byte;
    let exponent = i32::from((u >> 4) & 0x07);
    let mantissa = i32::from(u & 0x0f);
    let magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
    if u & 0x80 != 0 { -magnitude } else { magnitude }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
