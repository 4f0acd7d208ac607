//! Loopback stand-ins for Transcribe streaming (HTTP/2 without TLS) and
//! Polly (HTTP/1.1), for the adapters' tests. Both recompute every SigV4
//! signature from the request with their own copy of the secret and refuse a
//! mismatch with 403 `InvalidSignatureException`, as AWS does; the Transcribe
//! fake also checks each audio event's chained `:chunk-signature`.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use h2::RecvStream;
use h2::server::SendResponse;
use http::HeaderMap;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use tokio::time::timeout;

use super::credentials::Credentials;
use super::eventstream::{Decoder, Message, Value};
use super::sigv4::{Authorization, Request, STREAMING_EVENTS, Signer, Stamp, hex, sha256_hex};
use crate::adapter::speech::deepgram::ApiKey;

/// The keys the fakes accept.
pub(crate) fn test_credentials() -> Credentials {
    Credentials {
        access_key_id: "AKIDEXAMPLE".into(),
        secret: ApiKey::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        session_token: None,
    }
}

/// Temporary credentials the fakes accept too (the instance-metadata fake
/// registers each set it issues); their session token is required.
static ISSUED: std::sync::Mutex<Vec<Credentials>> = std::sync::Mutex::new(Vec::new());

/// Makes the fakes accept `c` (its token in `x-amz-security-token`).
pub(crate) fn accept_credentials(c: Credentials) {
    ISSUED.lock().unwrap().push(c);
}

fn known(access_key_id: &str) -> Option<Credentials> {
    let issued = ISSUED.lock().unwrap();
    std::iter::once(test_credentials())
        .chain(issued.iter().cloned())
        .find(|c| c.access_key_id == access_key_id)
}

const WAIT: Duration = Duration::from_secs(10);

/// Checks a request's `Authorization` against its headers; returns the
/// signature (an event stream's seed) or why it is refused.
pub(crate) fn verify(
    method: &'static str,
    path: &str,
    authority: &str,
    headers: &HeaderMap,
    payload_hash: String,
) -> Result<(Signer, String), String> {
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    let auth = header("authorization").ok_or("no Authorization header")?;
    let auth = Authorization::parse(auth).ok_or("malformed Authorization header")?;
    let creds =
        known(&auth.access_key_id).ok_or("UnrecognizedClientException: unknown access key")?;
    if let Some(token) = &creds.session_token {
        let signed = auth
            .signed_headers
            .split(';')
            .any(|h| h == "x-amz-security-token");
        if header("x-amz-security-token") != Some(token.expose()) || !signed {
            return Err("UnrecognizedClientException: The security token included in the request is invalid".into());
        }
    }
    let scope: Vec<&str> = auth.scope.split('/').collect();
    let datetime = header("x-amz-date").ok_or("no x-amz-date")?.to_owned();
    if header("x-amz-content-sha256") != Some(payload_hash.as_str()) {
        return Err("x-amz-content-sha256 does not match the payload".into());
    }
    let mut signed = Vec::new();
    for name in auth.signed_headers.split(';') {
        let value = match name {
            "host" => header("host").unwrap_or(authority),
            other => header(other).ok_or_else(|| format!("signed header {other} is missing"))?,
        };
        signed.push((name.to_owned(), value.to_owned()));
    }
    let signer = Signer {
        credentials: creds,
        region: scope[1].to_owned(),
        service: scope[2].to_owned(),
    };
    let stamp = Stamp {
        date: datetime.get(..8).unwrap_or_default().to_owned(),
        datetime,
        secs: 0,
    };
    let request = Request {
        method,
        path: path.to_owned(),
        headers: signed,
        payload_hash,
    };
    let (expected, _) = signer.request_signature(&request, &stamp);
    if expected != auth.signature {
        return Err("InvalidSignatureException: The request signature we calculated does not match the signature you provided".into());
    }
    Ok((signer, auth.signature))
}

/// The Transcribe streaming fake: each request that passes the signature
/// check is handed to the test as a [`Call`].
pub(crate) struct FakeTranscribe {
    pub(crate) url: String,
    calls: mpsc::Receiver<Call>,
}

/// One `StartStreamTranscription` request.
pub(crate) struct Call {
    pub(crate) headers: HeaderMap,
    signer: Signer,
    prior: String,
    body: RecvStream,
    decoder: Decoder,
    respond: SendResponse<Bytes>,
    stream: Option<h2::SendStream<Bytes>>,
    connection: AbortHandle,
}

impl FakeTranscribe {
    pub(crate) async fn start() -> Self {
        Self::start_with(None).await
    }

    /// Over TLS with ALPN `h2` (`https://localhost:…`) with this server config.
    pub(crate) async fn start_tls(mut tls: rustls::ServerConfig) -> Self {
        tls.alpn_protocols = vec![b"h2".to_vec()];
        Self::start_with(Some(tokio_rustls::TlsAcceptor::from(Arc::new(tls)))).await
    }

    async fn start_with(tls: Option<tokio_rustls::TlsAcceptor>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let url = match tls {
            Some(_) => format!("https://localhost:{port}"),
            None => format!("http://127.0.0.1:{port}"),
        };
        let (tx, calls) = mpsc::channel(8);
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                // As a server would: no Nagle delay on small event frames.
                let _ = tcp.set_nodelay(true);
                let (tx, tls) = (tx.clone(), tls.clone());
                let (abort_tx, abort_rx) = tokio::sync::oneshot::channel::<AbortHandle>();
                let handle = tokio::spawn(async move {
                    let Ok(abort) = abort_rx.await else { return };
                    match tls {
                        None => serve(tcp, abort, tx).await,
                        Some(tls) => {
                            if let Ok(stream) = tls.accept(tcp).await {
                                serve(stream, abort, tx).await;
                            }
                        }
                    }
                });
                let _ = abort_tx.send(handle.abort_handle());
            }
        });
        Self { url, calls }
    }

    /// The next request that passed the signature check.
    pub(crate) async fn call(&mut self) -> Call {
        timeout(WAIT, self.calls.recv())
            .await
            .expect("a call in time")
            .expect("server running")
    }
}

async fn serve<T>(io: T, abort: AbortHandle, tx: mpsc::Sender<Call>)
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let Ok(mut conn) = h2::server::handshake(io).await else {
        return;
    };
    while let Some(Ok((request, respond))) = conn.accept().await {
        accept(request, respond, abort.clone(), &tx).await;
    }
}

async fn accept(
    request: http::Request<RecvStream>,
    mut respond: SendResponse<Bytes>,
    connection: AbortHandle,
    calls: &mpsc::Sender<Call>,
) {
    let (parts, body) = request.into_parts();
    let authority = parts
        .uri
        .authority()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let checked = verify(
        "POST",
        parts.uri.path(),
        &authority,
        &parts.headers,
        STREAMING_EVENTS.into(),
    );
    let (signer, prior) = match checked {
        Ok(ok) => ok,
        Err(why) => {
            let kind = why
                .split(':')
                .next()
                .unwrap_or("InvalidSignatureException")
                .to_owned();
            refuse(&mut respond, 403, &kind, &why);
            return;
        }
    };
    let call = Call {
        headers: parts.headers,
        signer,
        prior,
        body,
        decoder: Decoder::default(),
        respond,
        stream: None,
        connection,
    };
    let _ = calls.send(call).await;
}

fn refuse(respond: &mut SendResponse<Bytes>, status: u16, kind: &str, message: &str) {
    let response = http::Response::builder()
        .status(status)
        .header(
            "x-amzn-errortype",
            format!("{kind}:http://internal.amazon.com/coral/"),
        )
        .header("content-type", "application/x-amz-json-1.1")
        .body(())
        .unwrap();
    if let Ok(mut s) = respond.send_response(response, false) {
        let body = serde_json::json!({ "Message": message }).to_string();
        let _ = s.send_data(Bytes::from(body), true);
    }
}

/// An audio event as the fake saw it, its chain checked.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Heard {
    Audio(Vec<u8>),
    /// The empty signed message that ends the audio.
    End,
}

impl Call {
    /// Refuses with this status and `x-amzn-ErrorType` (throttling, …).
    pub(crate) fn refuse(mut self, status: u16, kind: &str, message: &str) {
        refuse(&mut self.respond, status, kind, message);
    }

    /// Answers 200; the response body is the event stream.
    pub(crate) fn accept(&mut self) {
        let response = http::Response::builder()
            .status(200)
            .header("content-type", "application/vnd.amazon.eventstream")
            .header("x-amzn-transcribe-session-id", "fake-session")
            .body(())
            .unwrap();
        self.stream = Some(self.respond.send_response(response, false).unwrap());
    }

    /// Sends one event-stream message.
    pub(crate) fn send(&mut self, m: &Message) {
        let stream = self.stream.as_mut().expect("accept() first");
        stream.send_data(Bytes::from(m.encode()), false).unwrap();
    }

    /// Sends raw bytes (garbage tests).
    pub(crate) fn send_raw(&mut self, bytes: Vec<u8>) {
        let stream = self.stream.as_mut().expect("accept() first");
        stream.send_data(Bytes::from(bytes), false).unwrap();
    }

    /// Cuts the TCP connection without a word.
    pub(crate) fn disconnect(self) {
        self.connection.abort();
    }

    /// The next audio event, its `:chunk-signature` checked against the chain
    /// (a bad one panics: the adapter signed wrong); `None` when the client
    /// ended or dropped the request.
    pub(crate) async fn heard(&mut self) -> Option<Heard> {
        loop {
            if let Some(m) = self
                .decoder
                .next_message()
                .expect("a well-framed request body")
            {
                return Some(self.check(m));
            }
            let chunk = timeout(WAIT, self.body.data())
                .await
                .expect("audio in time")?;
            let chunk = chunk.ok()?;
            let _ = self.body.flow_control().release_capacity(chunk.len());
            self.decoder.push(&chunk);
        }
    }

    fn check(&mut self, outer: Message) -> Heard {
        let date = outer.headers.iter().find_map(|(n, v)| match v {
            Value::Timestamp(ms) if n == ":date" => Some(*ms),
            _ => None,
        });
        let sig = outer.headers.iter().find_map(|(n, v)| match v {
            Value::Bytes(b) if n == ":chunk-signature" => Some(hex(b)),
            _ => None,
        });
        let (date, sig) = (date.expect(":date"), sig.expect(":chunk-signature"));
        let at = UNIX_EPOCH + Duration::from_millis(date as u64);
        let (_, expected) = self
            .signer
            .sign_event(&self.prior, outer.payload.clone(), at);
        assert_eq!(sig, expected, "the chunk signature chain holds");
        self.prior = sig;
        if outer.payload.is_empty() {
            return Heard::End;
        }
        let mut inner = Decoder::default();
        inner.push(&outer.payload);
        let m = inner
            .next_message()
            .expect("a well-framed audio event")
            .expect("whole");
        assert_eq!(m.header(":event-type"), Some("AudioEvent"));
        assert_eq!(m.header(":message-type"), Some("event"));
        Heard::Audio(m.payload)
    }
}

/// A `TranscriptEvent` with one result.
pub(crate) fn transcript(text: &str, partial: bool, start: f64, end: f64) -> Message {
    let payload = serde_json::json!({"Transcript": {"Results": [{
        "Alternatives": [{"Transcript": text, "Items": [
            {"Content": text, "Confidence": 0.9, "StartTime": start, "EndTime": end, "Type": "pronunciation"}
        ]}],
        "EndTime": end, "IsPartial": partial, "ResultId": "r-1", "StartTime": start,
    }]}});
    event_message(
        "event",
        &[(":event-type", "TranscriptEvent")],
        payload.to_string(),
    )
}

/// An exception sent in the stream.
pub(crate) fn exception(kind: &str, message: &str) -> Message {
    let payload = serde_json::json!({ "Message": message }).to_string();
    event_message("exception", &[(":exception-type", kind)], payload)
}

fn event_message(kind: &str, extra: &[(&str, &str)], payload: String) -> Message {
    let header = |n: &str, v: &str| (n.to_owned(), Value::String(v.to_owned()));
    let mut headers = vec![header(":message-type", kind)];
    headers.extend(extra.iter().map(|(n, v)| header(n, v)));
    headers.push(header(":content-type", "application/json"));
    Message {
        headers,
        payload: payload.into_bytes(),
    }
}

/// What the Polly fake answers to the next request.
pub(crate) enum Reply {
    /// These body chunks, then the end.
    Pcm(Vec<Vec<u8>>),
    /// An error status with `x-amzn-ErrorType`.
    Status(u16, &'static str),
    /// Chunks as the test sends them (an `Err` breaks the body).
    Live(mpsc::Receiver<Result<Bytes, std::io::Error>>),
}

/// The Polly fake: requests that pass the signature check are recorded and
/// answered from a script.
#[derive(Clone, Default)]
pub(crate) struct FakePolly {
    replies: Arc<Mutex<VecDeque<Reply>>>,
    pub(crate) requests: Arc<Mutex<Vec<serde_json::Value>>>,
}

impl FakePolly {
    /// Serves these replies, in order; returns the fake and its base URL.
    pub(crate) async fn start(replies: Vec<Reply>) -> (Self, String) {
        let fake = Self::default();
        fake.replies.lock().unwrap().extend(replies);
        let app = axum::Router::new()
            .route("/v1/speech", axum::routing::post(speech))
            .with_state(fake.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (fake, format!("http://{addr}"))
    }
}

async fn speech(
    axum::extract::State(fake): axum::extract::State<FakePolly>,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let error = |status: u16, kind: &str, message: &str| {
        let status = http::StatusCode::from_u16(status).unwrap();
        let body = serde_json::json!({ "message": message }).to_string();
        (status, [("x-amzn-errortype", kind.to_owned())], body).into_response()
    };
    if let Err(why) = verify("POST", "/v1/speech", "", &headers, sha256_hex(&body)) {
        return error(403, "InvalidSignatureException", &why);
    }
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return error(400, "ValidationException", "body is not JSON");
    };
    fake.requests.lock().unwrap().push(json);
    let reply = fake
        .replies
        .lock()
        .unwrap()
        .pop_front()
        .expect("a scripted reply");
    match reply {
        Reply::Pcm(chunks) => {
            let chunks = chunks
                .into_iter()
                .map(|c| Ok::<_, std::io::Error>(Bytes::from(c)));
            axum::body::Body::from_stream(futures_util::stream::iter(chunks)).into_response()
        }
        Reply::Status(code, kind) => error(code, kind, "scripted failure"),
        Reply::Live(rx) => {
            let stream = futures_util::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|c| (c, rx))
            });
            axum::body::Body::from_stream(stream).into_response()
        }
    }
}
