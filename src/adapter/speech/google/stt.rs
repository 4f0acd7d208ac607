//! Streaming speech-to-text over Google Speech-to-Text v2 `StreamingRecognize`.
//!
//! Protocol (cloud.google.com "Transcribe audio from streaming input", and
//! `google/cloud/speech/v2/cloud_speech.proto`): one bidirectional gRPC
//! stream on `speech.googleapis.com:443`; the first request names the
//! recognizer (`projects/{p}/locations/{l}/recognizers/_`, settings inline)
//! and carries the `streaming_config` (explicit decoding, model, language,
//! the session's hints as an inline phrase set, interim results,
//! voice-activity events); every later request carries
//! audio (at most 15 KB). Half-closing the request stream makes Google
//! settle what it heard and end the response stream with status OK.
//! Failures arrive as the call's gRPC status (`UNAUTHENTICATED`,
//! `RESOURCE_EXHAUSTED`, `UNAVAILABLE`, …). Servers may hold their response
//! headers back until their first message, so `open` resolves once the
//! credentials are in hand and the call is sent; a refusal is the session's
//! first event.
//!
//! Mapping: there is no in-band "finalize", so each `finish()` half-closes
//! the stream and is answered by one `Final` when it ends (at the latest
//! after `finalize_timeout`); audio that comes meanwhile is kept and sent on
//! a new stream, opened for the next utterance. A stream per utterance also
//! keeps well inside Google's five-minute stream limit.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use media::codec::{Codec, Pcmu};
use tokio::sync::{OnceCell, mpsc};
use tokio::time::{Instant, sleep_until};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};
use tonic::{Code, Status, Streaming};

use super::auth::Authenticator;
use super::config::{GoogleConfig, SttEncoding};
use super::proto::{self, StreamingRecognizeRequest as Req, StreamingRecognizeResponse as Resp};
use super::results::Utterance;
use crate::application::ports::speech::{
    BoxFuture, SpeechToText, SttConfig, SttError, SttEvent, SttInput, SttProviderEnd, SttSession,
};

/// Audio bytes per request: Google's limit is 15 KB.
const MAX_AUDIO_BYTES: usize = 15_000;
/// Audio kept while the previous utterance settles: 10 s at 16 kHz.
const MAX_BACKLOG_SAMPLES: usize = 160_000;

/// The Google streaming STT adapter. Sessions share one HTTP/2 connection.
#[derive(Debug, Clone)]
pub struct GoogleStt {
    config: GoogleConfig,
    auth: Authenticator,
    channel: std::sync::Arc<OnceCell<Channel>>,
}

impl GoogleStt {
    /// An adapter with this configuration; fails when the key file is bad.
    pub fn new(config: GoogleConfig) -> Result<Self, SttError> {
        let auth = Authenticator::new(&config.credentials, config.connect_timeout)
            .map_err(|e| SttError::Rejected(e.to_string()))?;
        Ok(Self {
            config,
            auth,
            channel: std::sync::Arc::default(),
        })
    }

    async fn channel(&self) -> Result<Channel, SttError> {
        let endpoint = &self.config.stt_endpoint;
        let channel = self
            .channel
            .get_or_try_init(|| async {
                let mut e = Endpoint::from_shared(endpoint.clone())
                    .map_err(|e| SttError::Connect(format!("{endpoint}: {e}")))?
                    .connect_timeout(self.config.connect_timeout)
                    .tcp_nodelay(true)
                    .http2_keep_alive_interval(Duration::from_secs(30));
                if endpoint.starts_with("https://") {
                    let tls = ClientTlsConfig::new().with_webpki_roots();
                    e = e
                        .tls_config(tls)
                        .map_err(|e| SttError::Connect(e.to_string()))?;
                }
                Ok::<_, SttError>(e.connect_lazy())
            })
            .await?;
        Ok(channel.clone())
    }

    /// The first request: recognizer and streaming configuration.
    fn setup(&self, session: &SttConfig) -> Req {
        let c = &self.config;
        let encoding = match c.stt_encoding {
            SttEncoding::Linear16 => proto::AudioEncoding::Linear16,
            SttEncoding::Mulaw => proto::AudioEncoding::Mulaw,
        };
        let language = c.language.clone().unwrap_or(session.language.clone());
        let config = proto::RecognitionConfig {
            explicit_decoding_config: Some(proto::ExplicitDecodingConfig {
                encoding: encoding as i32,
                sample_rate_hertz: session.sample_rate.hz() as i32,
                audio_channel_count: 1,
            }),
            features: Some(proto::RecognitionFeatures {
                enable_automatic_punctuation: true,
            }),
            model: c.model.clone(),
            language_codes: vec![language],
            // The session's hints, inline: no PhraseSet resource to manage.
            adaptation: (!session.hints.is_empty()).then(|| proto::SpeechAdaptation {
                phrase_sets: vec![proto::AdaptationPhraseSet {
                    inline_phrase_set: Some(proto::PhraseSet {
                        phrases: session
                            .hints
                            .iter()
                            .map(|h| proto::Phrase { value: h.clone() })
                            .collect(),
                    }),
                }],
            }),
        };
        Req {
            recognizer: c.recognizer(),
            streaming_request: Some(proto::StreamingRequest::StreamingConfig(
                proto::StreamingRecognitionConfig {
                    config: Some(config),
                    streaming_features: Some(proto::StreamingRecognitionFeatures {
                        enable_voice_activity_events: true,
                        interim_results: session.interim_results,
                    }),
                },
            )),
        }
    }

    /// Starts one `StreamingRecognize` call; resolves when Google answered
    /// its headers (or refused).
    async fn call(&self, session: &SttConfig, base: Duration) -> Result<Call, SttError> {
        let (tx, mut rx) = mpsc::channel::<Req>(64);
        tx.try_send(self.setup(session))
            .expect("room for the first request");
        let requests = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
        let mut request = tonic::Request::new(requests);
        let (name, value) = self
            .auth
            .header()
            .await
            .map_err(|e| SttError::Rejected(e.to_string()))?;
        let value = value
            .parse()
            .map_err(|_| SttError::Rejected("credential is not a valid header value".into()))?;
        request.metadata_mut().insert(name, value);
        let params = format!(
            "recognizer={}",
            self.config.recognizer().replace('/', "%2F")
        );
        if let Ok(v) = params.parse() {
            request.metadata_mut().insert("x-goog-request-params", v);
        }
        let mut grpc = tonic::client::Grpc::new(self.channel().await?);
        // gRPC servers may hold their response headers back until their first
        // message, so the call is not awaited here: the session's task drives
        // it, and a refusal arrives as the session's error.
        let started = async move {
            grpc.ready()
                .await
                .map_err(|e| Status::unavailable(e.to_string()))?;
            let codec = tonic_prost::ProstCodec::<Req, Resp>::default();
            let path = PathAndQuery::from_static(proto::STREAMING_RECOGNIZE);
            grpc.streaming(request, path, codec).await
        };
        Ok(Call {
            tx: Some(tx),
            responses: Responses::Starting(Box::pin(started)),
            base,
        })
    }
}

/// A gRPC status as the port's error: refused credentials or requests are
/// final; quota, overload and transport failures may pass.
pub(crate) fn status_error(s: &Status, opening: bool) -> SttError {
    let what = format!("{:?}: {}", s.code(), s.message());
    match s.code() {
        Code::Unauthenticated
        | Code::PermissionDenied
        | Code::InvalidArgument
        | Code::NotFound
        | Code::FailedPrecondition
        | Code::Unimplemented => SttError::Rejected(what),
        Code::Unavailable if opening => SttError::Connect(what),
        Code::DeadlineExceeded => SttError::Timeout {
            waited: Duration::ZERO,
            waiting_for: "google's deadline",
        },
        _ => SttError::Provider(what),
    }
}

impl SpeechToText for GoogleStt {
    fn open(&self, config: SttConfig) -> BoxFuture<'_, Result<SttSession, SttError>> {
        Box::pin(async move {
            let call = self.call(&config, Duration::ZERO).await?;
            let (session, end) =
                SttSession::channel(config.clone(), SttSession::DEFAULT_QUEUE_FRAMES);
            let task = Task {
                stt: self.clone(),
                session: config,
                call: Some(call),
                utterance: Utterance::default(),
                pending_finishes: 0,
                deadline: None,
                samples: 0,
                backlog: Vec::new(),
            };
            tokio::spawn(task.run(end));
            Ok(session)
        })
    }
}

/// A call whose response headers are awaited.
type Starting =
    Pin<Box<dyn Future<Output = Result<tonic::Response<Streaming<Resp>>, Status>> + Send>>;

/// The answering side of a call: its headers awaited, then its messages
/// (boxed: a `Streaming` is large).
enum Responses {
    Starting(Starting),
    Open(Box<Streaming<Resp>>),
}

/// One `StreamingRecognize` call.
struct Call {
    /// `None` once half-closed by a `finish()`.
    tx: Option<mpsc::Sender<Req>>,
    responses: Responses,
    /// Session audio time at which the call began.
    base: Duration,
}

struct Task {
    stt: GoogleStt,
    session: SttConfig,
    call: Option<Call>,
    utterance: Utterance,
    /// `finish()`es not yet answered by a `Final`.
    pending_finishes: u32,
    /// When a half-closed call must have ended.
    deadline: Option<Instant>,
    /// Samples sent so far (the session's audio clock).
    samples: u64,
    /// Audio that came while the previous call settled.
    backlog: Vec<i16>,
}

type Step = Result<Vec<SttEvent>, SttError>;

impl Task {
    async fn run(mut self, mut end: SttProviderEnd) {
        let error = loop {
            let step = tokio::select! {
                biased;
                () = end.events.closed() => break None,
                input = end.input.recv() => match input {
                    Some(SttInput::Audio(pcm)) => self.on_audio(pcm).await,
                    Some(SttInput::Finish) => Ok(self.on_finish()),
                    None => break None,
                },
                got = next(self.call.as_mut()), if self.call.is_some() => self.on_response(got).await,
                () = sleep_until(self.deadline.unwrap_or_else(Instant::now)), if self.deadline.is_some() => {
                    // Google kept the stream open too long: drop it (cancels the call).
                    self.call = None;
                    self.settled().await
                }
            };
            match step {
                Ok(events) => {
                    for event in events {
                        if end.events.send(event).await.is_err() {
                            return;
                        }
                    }
                }
                Err(e) => break Some(e),
            }
        };
        if let Some(e) = error {
            tracing::warn!(error = %e, "google stt failed");
            let _ = end.events.send(SttEvent::Error(e)).await;
        }
    }

    fn audio_time(&self) -> Duration {
        self.session.sample_rate.duration_of(self.samples)
    }

    async fn on_audio(&mut self, pcm: Vec<i16>) -> Step {
        let writable = self.call.as_ref().is_some_and(|c| c.tx.is_some());
        if !writable && self.call.is_some() {
            // The previous utterance is settling: keep this for the next call.
            if self.backlog.len() + pcm.len() > MAX_BACKLOG_SAMPLES {
                return Err(SttError::Timeout {
                    waited: self.stt.config.finalize_timeout,
                    waiting_for: "the final transcript",
                });
            }
            self.backlog.extend_from_slice(&pcm);
            return Ok(Vec::new());
        }
        if self.call.is_none() {
            self.call = Some(self.stt.call(&self.session, self.audio_time()).await?);
        }
        self.send(&pcm).await;
        Ok(Vec::new())
    }

    /// Sends audio on the open call. A failed send means the call ended;
    /// the response stream says why.
    async fn send(&mut self, pcm: &[i16]) {
        self.samples += pcm.len() as u64;
        let bytes = match self.stt.config.stt_encoding {
            SttEncoding::Linear16 => pcm.iter().flat_map(|s| s.to_le_bytes()).collect(),
            SttEncoding::Mulaw => {
                let mut out = vec![0u8; pcm.len()];
                let n = Pcmu::new().encode(pcm, &mut out).unwrap_or(0);
                out.truncate(n);
                out
            }
        };
        let Some(tx) = self.call.as_ref().and_then(|c| c.tx.as_ref()) else {
            return;
        };
        for chunk in bytes.chunks(MAX_AUDIO_BYTES) {
            let req = Req {
                recognizer: String::new(),
                streaming_request: Some(proto::StreamingRequest::Audio(chunk.to_vec())),
            };
            if tx.send(req).await.is_err() {
                return;
            }
        }
    }

    fn on_finish(&mut self) -> Vec<SttEvent> {
        self.pending_finishes += 1;
        match self.call.as_mut() {
            // Nothing sent since the last `Final`: nothing to settle.
            None => self.answer(),
            Some(call) => {
                if call.tx.take().is_some() {
                    self.deadline = Some(Instant::now() + self.stt.config.finalize_timeout);
                }
                Vec::new()
            }
        }
    }

    /// One `Final` per pending `finish()` (the first carries the words).
    fn answer(&mut self) -> Vec<SttEvent> {
        let at = self.audio_time();
        let mut events = vec![self.utterance.take(at)];
        for _ in 1..self.pending_finishes {
            events.push(self.utterance.take(at));
        }
        self.pending_finishes = 0;
        events
    }

    async fn on_response(&mut self, got: Result<Option<Resp>, SttError>) -> Step {
        match got {
            Ok(Some(r)) => {
                let base = self.call.as_ref().map_or(Duration::ZERO, |c| c.base);
                Ok(self
                    .utterance
                    .on_response(&r, base, self.session.interim_results))
            }
            Ok(None) => {
                self.call = None;
                self.settled().await
            }
            Err(e) => Err(e),
        }
    }

    /// The call ended (or was given up on): answer the pending `finish()`es,
    /// then carry on with the audio that waited.
    async fn settled(&mut self) -> Step {
        self.deadline = None;
        let events = if self.pending_finishes > 0 {
            self.answer()
        } else if !self.utterance.is_empty() {
            // Google ended the stream on its own: what it settled is a turn.
            vec![self.utterance.take(self.audio_time())]
        } else {
            Vec::new()
        };
        if !self.backlog.is_empty() {
            let backlog = std::mem::take(&mut self.backlog);
            self.call = Some(self.stt.call(&self.session, self.audio_time()).await?);
            self.send(&backlog).await;
        }
        Ok(events)
    }
}

async fn next(call: Option<&mut Call>) -> Result<Option<Resp>, SttError> {
    let Some(call) = call else {
        return std::future::pending().await;
    };
    if let Responses::Starting(started) = &mut call.responses {
        // Cancel-safe: the future stays in the call until it completes.
        let response = started.as_mut().await.map_err(|s| status_error(&s, true))?;
        call.responses = Responses::Open(Box::new(response.into_inner()));
    }
    match &mut call.responses {
        Responses::Open(stream) => stream.message().await.map_err(|s| status_error(&s, false)),
        Responses::Starting(_) => unreachable!("opened above"),
    }
}
