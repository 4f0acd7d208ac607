//! Speech-to-text over Amazon Transcribe streaming (`StartStreamTranscription`).
//!
//! Protocol (Transcribe developer guide, "Setting up an HTTP/2 stream"; API
//! reference, `StartStreamTranscription`): `POST /stream-transcription` over
//! HTTP/2, SigV4-signed with `x-amz-content-sha256:
//! STREAMING-AWS4-HMAC-SHA256-EVENTS`, the language, `media-encoding: pcm`
//! and the sample rate in `x-amzn-transcribe-*` headers. The request body is
//! an event stream of `AudioEvent`s (16-bit LE PCM), each wrapped in a
//! message carrying `:date` and a `:chunk-signature` chained from the
//! request's signature; an empty signed message ends the audio. The response
//! body is an event stream of `TranscriptEvent`s (JSON `Results[]` with
//! `IsPartial`) or one exception message.
//!
//! Mapping: a partial result → `Interim` (settled results of the utterance
//! before it, then it); results gather into one `Final` per `finish()`. With
//! no partial result outstanding `finish()` is answered at once; otherwise
//! by the result that settles it, at the latest after `finalize_timeout`.
//! Transcribe has no "flush" request, hence the wait.

use std::pin::Pin;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use h2::client::ResponseFuture;
use h2::{RecvStream, SendStream};
use tokio::time::{Instant, sleep_until};

use super::config::{AwsConfig, error_text, passing};
use super::eventstream::{Decoder, Message, Value};
use super::h2conn::{self, Target};
use super::sigv4::{Request, STREAMING_EVENTS, Signer};
use super::transcript::{self, Incoming, Segment};
use crate::application::ports::speech::{
    BoxFuture, SpeechToText, SttConfig, SttError, SttEvent, SttInput, SttProviderEnd, SttSession,
};

/// Audio per `AudioEvent` (the service recommends 50–200 ms).
const CHUNK: Duration = Duration::from_millis(100);
/// How long a finished stream's response is read before the connection goes.
const DRAIN: Duration = Duration::from_secs(2);

/// The Transcribe streaming STT adapter (`stt = "aws"`).
#[derive(Debug, Clone)]
pub struct TranscribeStt {
    config: AwsConfig,
}

impl TranscribeStt {
    /// An adapter with this configuration.
    pub fn new(config: AwsConfig) -> Self {
        Self { config }
    }

    /// The signed request head and its signature (the event chain's seed).
    fn request(
        &self,
        signer: &Signer,
        target: &Target,
        session: &SttConfig,
    ) -> Result<(http::Request<()>, String), SttError> {
        let language = self.config.language.as_deref().unwrap_or(&session.language);
        let mut r = Request {
            method: "POST",
            path: "/stream-transcription".into(),
            headers: vec![
                ("host".into(), target.authority.clone()),
                (
                    "content-type".into(),
                    "application/vnd.amazon.eventstream".into(),
                ),
                ("x-amzn-transcribe-language-code".into(), language.into()),
                ("x-amzn-transcribe-media-encoding".into(), "pcm".into()),
                (
                    "x-amzn-transcribe-sample-rate".into(),
                    session.sample_rate.hz().to_string(),
                ),
            ],
            payload_hash: STREAMING_EVENTS.into(),
        };
        let signature = signer.sign(&mut r, SystemTime::now());
        let uri = format!("{}://{}{}", target.scheme, target.authority, r.path);
        let mut builder = http::Request::post(uri);
        for (name, value) in r.headers.iter().filter(|(n, _)| n != "host") {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let request = builder
            .body(())
            .map_err(|e| SttError::Connect(format!("request: {e}")))?;
        Ok((request, signature))
    }
}

impl SpeechToText for TranscribeStt {
    fn open(&self, config: SttConfig) -> BoxFuture<'_, Result<SttSession, SttError>> {
        Box::pin(async move {
            let target = Target::parse(&self.config.transcribe_url()).map_err(SttError::Connect)?;
            let signer = self
                .config
                .fresh_signer("transcribe")
                .await
                .map_err(SttError::Connect)?;
            let send = h2conn::connect(
                &target,
                self.config.connect_timeout,
                self.config.ca_file.as_deref(),
            )
            .await
            .map_err(SttError::Connect)?;
            let (request, signature) = self.request(&signer, &target, &config)?;
            let mut send = send
                .ready()
                .await
                .map_err(|e| SttError::Connect(format!("HTTP/2: {e}")))?;
            let (response, stream) = send
                .send_request(request, false)
                .map_err(|e| SttError::Connect(format!("HTTP/2 request: {e}")))?;
            let chunk_bytes =
                (config.sample_rate.hz() as usize * 2 * CHUNK.as_millis() as usize) / 1000;
            let interim = config.interim_results;
            let (session, end) = SttSession::channel(config, SttSession::DEFAULT_QUEUE_FRAMES);
            let task = Task {
                signer,
                read_timeout: self.config.read_timeout,
                finalize_timeout: self.config.finalize_timeout,
                keepalive: self.config.keepalive,
                last_sent: Instant::now(),
                inserted: Duration::ZERO,
                prior: signature,
                stream,
                interim,
                chunk_bytes,
                buffered: Vec::with_capacity(chunk_bytes),
                heard: Heard::default(),
                pending_finishes: 0,
                finalize_deadline: None,
            };
            tokio::spawn(task.run(end, response));
            Ok(session)
        })
    }
}

/// The response: its head awaited, then its body read.
enum Body {
    Waiting(Pin<Box<ResponseFuture>>, Instant),
    Reading(RecvStream),
}

enum BodyStep {
    Head(Result<http::Response<RecvStream>, String>),
    Data(Option<Result<Bytes, h2::Error>>),
}

async fn next_body(body: &mut Body) -> BodyStep {
    match body {
        Body::Waiting(fut, deadline) => {
            let head = tokio::time::timeout_at(*deadline, fut.as_mut()).await;
            BodyStep::Head(match head {
                Err(_) => Err("no response head".into()),
                Ok(r) => r.map_err(|e| e.to_string()),
            })
        }
        Body::Reading(recv) => BodyStep::Data(recv.data().await),
    }
}

/// Reads the response to its end, discarding it.
async fn drain(mut body: Body) {
    loop {
        match next_body(&mut body).await {
            BodyStep::Head(Ok(response)) => body = Body::Reading(response.into_body()),
            BodyStep::Data(Some(Ok(bytes))) => {
                if let Body::Reading(recv) = &mut body {
                    let _ = recv.flow_control().release_capacity(bytes.len());
                }
            }
            _ => return,
        }
    }
}

/// What was heard since the last `Final`.
#[derive(Debug, Default)]
struct Heard {
    settled: Vec<String>,
    partial: Option<String>,
    start: Option<Duration>,
    end: Duration,
    confidence: Vec<f32>,
}

impl Heard {
    fn text(&self) -> String {
        let parts = self.settled.iter().chain(self.partial.as_ref());
        parts
            .filter(|t| !t.is_empty())
            .cloned()
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn on_segment(&mut self, s: Segment) {
        self.start.get_or_insert(s.start);
        self.end = self.end.max(s.end);
        if s.partial {
            self.partial = Some(s.text);
        } else {
            self.partial = None;
            self.settled.push(s.text);
            self.confidence.extend(s.confidence);
        }
    }

    fn take(&mut self) -> SttEvent {
        let text = self.text();
        let taken = std::mem::take(self);
        let n = taken.confidence.len();
        let confidence = (n > 0).then(|| taken.confidence.iter().sum::<f32>() / n as f32);
        let start = taken.start.unwrap_or(taken.end);
        SttEvent::Final {
            text,
            start,
            end: taken.end,
            confidence,
        }
    }
}

struct Task {
    signer: Signer,
    read_timeout: Duration,
    finalize_timeout: Duration,
    keepalive: Duration,
    /// When the last audio event went.
    last_sent: Instant,
    /// Silence sent to keep the stream open, which the service's
    /// timestamps count and the session's audio time does not.
    inserted: Duration,
    /// The last signature of the chain.
    prior: String,
    stream: SendStream<Bytes>,
    interim: bool,
    chunk_bytes: usize,
    buffered: Vec<u8>,
    heard: Heard,
    pending_finishes: u32,
    finalize_deadline: Option<Instant>,
}

impl Task {
    async fn run(mut self, mut end: SttProviderEnd, response: ResponseFuture) {
        let head_by = Instant::now() + self.read_timeout;
        let mut body = Body::Waiting(Box::pin(response), head_by);
        let mut decoder = Decoder::default();
        let error = 'run: loop {
            let step = tokio::select! {
                biased;
                () = end.events.closed() => break None,
                input = end.input.recv() => match input {
                    Some(input) => self.on_input(input),
                    None => break None,
                },
                got = next_body(&mut body) => self.on_body(got, &mut body, &mut decoder).await,
                () = sleep_until(self.last_sent + self.keepalive) => self.keep_alive(),
                () = sleep_until(self.finalize_deadline.unwrap_or_else(Instant::now)),
                    if self.finalize_deadline.is_some() => {
                    let event = self.heard.take();
                    Ok(vec![self.answered(event)])
                }
            };
            match step {
                Ok(events) => {
                    for event in events {
                        if end.events.send(event).await.is_err() {
                            break 'run None;
                        }
                    }
                }
                Err(e) => break Some(e),
            }
        };
        match error {
            // Cancelled or dropped: end the audio (the service bills until then).
            None => {
                let (last, _) = self
                    .signer
                    .sign_event(&self.prior, Vec::new(), SystemTime::now());
                let _ = self.stream.send_data(Bytes::from(last.encode()), true);
                // Dropping an open stream resets it and discards what is
                // unsent: read on until the service ends its side.
                let _ = tokio::time::timeout(DRAIN, drain(body)).await;
            }
            Some(e) => {
                tracing::warn!(error = %e, "aws transcribe failed");
                self.stream.send_reset(h2::Reason::CANCEL);
                let _ = end.events.send(SttEvent::Error(e)).await;
            }
        }
    }

    fn on_input(&mut self, input: SttInput) -> Result<Vec<SttEvent>, SttError> {
        match input {
            SttInput::Audio(pcm) => {
                self.buffered
                    .extend(pcm.iter().flat_map(|s| s.to_le_bytes()));
                if self.buffered.len() >= self.chunk_bytes {
                    self.flush()?;
                }
                Ok(Vec::new())
            }
            SttInput::Finish => {
                self.flush()?;
                self.pending_finishes += 1;
                if self.heard.partial.is_none() {
                    let event = self.heard.take();
                    return Ok(vec![self.answered(event)]);
                }
                let deadline = Instant::now() + self.finalize_timeout;
                self.finalize_deadline.get_or_insert(deadline);
                Ok(Vec::new())
            }
        }
    }

    /// Transcribe ends a stream after 15 s without audio, and Asterisk
    /// sends none while the caller is quiet: after `keepalive` without audio
    /// one event of silence goes, counted so that timestamps stay the session's.
    fn keep_alive(&mut self) -> Result<Vec<SttEvent>, SttError> {
        if self.buffered.is_empty() {
            self.buffered = vec![0; self.chunk_bytes];
            self.inserted += CHUNK;
        }
        self.flush().map(|()| Vec::new())
    }

    /// Sends the buffered audio as one signed `AudioEvent`.
    fn flush(&mut self) -> Result<(), SttError> {
        self.last_sent = Instant::now();
        if self.buffered.is_empty() {
            return Ok(());
        }
        let inner = audio_event(std::mem::take(&mut self.buffered)).encode();
        let (signed, signature) = self
            .signer
            .sign_event(&self.prior, inner, SystemTime::now());
        self.prior = signature;
        self.stream
            .send_data(Bytes::from(signed.encode()), false)
            .map_err(|e| SttError::Provider(format!("sending audio: {e}")))
    }

    /// Counts a `Final` against the pending `finish()`es.
    fn answered(&mut self, event: SttEvent) -> SttEvent {
        self.pending_finishes = self.pending_finishes.saturating_sub(1);
        self.finalize_deadline =
            (self.pending_finishes > 0).then(|| Instant::now() + self.finalize_timeout);
        event
    }

    async fn on_body(
        &mut self,
        got: BodyStep,
        body: &mut Body,
        decoder: &mut Decoder,
    ) -> Result<Vec<SttEvent>, SttError> {
        match got {
            BodyStep::Head(Err(e)) => Err(SttError::Provider(format!("transcribe: {e}"))),
            BodyStep::Head(Ok(response)) => {
                let (parts, recv) = response.into_parts();
                if parts.status != http::StatusCode::OK {
                    return Err(refusal(parts, recv).await);
                }
                *body = Body::Reading(recv);
                Ok(Vec::new())
            }
            BodyStep::Data(None) => Err(SttError::Provider("transcribe ended the stream".into())),
            BodyStep::Data(Some(Err(e))) => {
                Err(SttError::Provider(format!("transcribe stream: {e}")))
            }
            BodyStep::Data(Some(Ok(bytes))) => {
                if let Body::Reading(recv) = body {
                    let _ = recv.flow_control().release_capacity(bytes.len());
                }
                decoder.push(&bytes);
                let mut events = Vec::new();
                while let Some(m) = decoder
                    .next_message()
                    .map_err(|e| SttError::Protocol(e.to_string()))?
                {
                    events.extend(self.on_message(&m)?);
                }
                Ok(events)
            }
        }
    }

    fn on_message(&mut self, m: &Message) -> Result<Vec<SttEvent>, SttError> {
        match transcript::parse(m).map_err(SttError::Protocol)? {
            Incoming::Transcript(segments) => Ok(segments
                .into_iter()
                .filter_map(|s| self.on_segment(s))
                .collect()),
            Incoming::Exception { kind, message } => {
                let text = format!("{kind}: {message}");
                Err(if Incoming::refused(&kind) {
                    SttError::Rejected(text)
                } else {
                    SttError::Provider(text)
                })
            }
            Incoming::Other => Ok(Vec::new()),
        }
    }

    fn on_segment(&mut self, mut s: Segment) -> Option<SttEvent> {
        s.start = s.start.saturating_sub(self.inserted);
        s.end = s.end.saturating_sub(self.inserted);
        let (partial, confidence) = (s.partial, s.confidence);
        self.heard.on_segment(s);
        if !partial && self.pending_finishes > 0 {
            let event = self.heard.take();
            return Some(self.answered(event));
        }
        let text = self.heard.text();
        (self.interim && !text.is_empty()).then(|| SttEvent::Interim {
            text,
            start: self.heard.start.unwrap_or_default(),
            end: self.heard.end,
            confidence,
        })
    }
}

/// An `AudioEvent` carrying these PCM bytes.
pub fn audio_event(pcm: Vec<u8>) -> Message {
    let header = |n: &str, v: &str| (n.to_owned(), Value::String(v.to_owned()));
    Message {
        headers: vec![
            header(":message-type", "event"),
            header(":event-type", "AudioEvent"),
            header(":content-type", "application/octet-stream"),
        ],
        payload: pcm,
    }
}

/// A non-200 response head as the port's error (reads at most 64 KiB of
/// its body, for a second).
async fn refusal(parts: http::response::Parts, mut recv: RecvStream) -> SttError {
    let error_type = parts
        .headers
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut body = Vec::new();
    let read = async {
        while let Some(Ok(chunk)) = recv.data().await {
            body.extend_from_slice(&chunk);
            if body.len() > 64 * 1024 {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), read).await;
    let status = parts.status.as_u16();
    let text = format!(
        "transcribe: {}",
        error_text(status, error_type.as_deref(), &body)
    );
    if passing(status, error_type.as_deref()) {
        SttError::Provider(text)
    } else {
        SttError::Rejected(text)
    }
}
