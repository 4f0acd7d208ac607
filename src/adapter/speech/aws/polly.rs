//! Text-to-speech over Amazon Polly `SynthesizeSpeech`.
//!
//! Protocol (Polly API reference, `SynthesizeSpeech`): `POST /v1/speech`,
//! SigV4-signed (service `polly`), JSON `{Text, TextType: "text", VoiceId,
//! Engine, OutputFormat: "pcm", SampleRate: "8000"|"16000"}`; the body is
//! 16-bit signed little-endian mono PCM, read chunk by chunk so audio flows
//! before the sentence is synthesised whole. Errors carry `x-amzn-ErrorType`
//! and a JSON `message`. One request per text piece, in order; cancel drops
//! the response, which closes the connection.

use std::collections::VecDeque;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use tokio::time::{Instant, sleep_until};

use super::config::{AwsConfig, error_text, passing};
use super::sigv4::{Request, sha256_hex};
use crate::adapter::speech::deepgram::socket::decode_le;
use crate::application::ports::speech::{
    BoxFuture, TextToSpeech, TtsAudio, TtsChunk, TtsConfig, TtsError, TtsEvent, TtsInput,
    TtsOutput, TtsProviderEnd, TtsSession,
};

/// The Polly TTS adapter (`tts = "polly"`).
#[derive(Debug, Clone)]
pub struct PollyTts {
    config: AwsConfig,
    client: reqwest::Client,
}

impl PollyTts {
    /// An adapter; fails only if the HTTP client cannot be built.
    pub fn new(config: AwsConfig) -> Result<Self, TtsError> {
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .build()
            .map_err(|e| TtsError::Connect(e.to_string()))?;
        Ok(Self { config, client })
    }
}

/// Polly's PCM rates: 8 kHz when the call leg is narrowband, else the configured one.
fn rate_for(output: TtsOutput, configured: u32) -> u32 {
    match output {
        TtsOutput::Mulaw8k | TtsOutput::Linear16 { sample_rate: 8000 } => 8000,
        TtsOutput::Linear16 {
            sample_rate: 16_000,
        } => 16_000,
        _ => configured,
    }
}

impl TextToSpeech for PollyTts {
    fn open(&self, config: TtsConfig) -> BoxFuture<'_, Result<TtsSession, TtsError>> {
        Box::pin(async move {
            // The first piece's request is the first contact; its failure
            // arrives as `TtsEvent::Error`.
            let voice = config.voice.clone().unwrap_or(self.config.voice.clone());
            let rate = rate_for(config.output, self.config.sample_rate);
            let (session, end) = TtsSession::channel(config);
            let task = Task {
                config: self.config.clone(),
                client: self.client.clone(),
                voice,
                rate,
            };
            tokio::spawn(task.run(end));
            Ok(session)
        })
    }
}

struct Task {
    config: AwsConfig,
    client: reqwest::Client,
    voice: String,
    rate: u32,
}

/// The piece whose response body is being read.
struct Speaking {
    piece: u32,
    response: reqwest::Response,
    /// The odd byte of a sample split across body chunks.
    odd: Option<u8>,
    deadline: Instant,
}

enum Step {
    Continue,
    Stop,
    Fail(TtsError),
}

impl Task {
    async fn run(self, mut end: TtsProviderEnd) {
        let mut queue: VecDeque<(u32, String)> = VecDeque::new();
        let (mut finished, mut input_open) = (false, true);
        let mut speaking: Option<Speaking> = None;
        let result: Result<(), TtsError> = loop {
            if speaking.is_none() {
                if let Some((piece, text)) = queue.pop_front() {
                    let started = tokio::select! {
                        biased;
                        () = end.events.closed() => return,
                        r = self.request(&text) => r,
                    };
                    match started {
                        Ok(response) => {
                            let deadline = Instant::now() + self.config.read_timeout;
                            speaking = Some(Speaking {
                                piece,
                                response,
                                odd: None,
                                deadline,
                            });
                        }
                        Err(e) => break Err(e),
                    }
                } else if finished {
                    break Ok(());
                }
            }
            let deadline = speaking.as_ref().map(|s| s.deadline);
            let step = tokio::select! {
                biased;
                () = end.events.closed() => return,
                input = end.input.recv(), if input_open => {
                    match input {
                        Some(TtsInput::Text { piece, text }) => queue.push_back((piece, text)),
                        Some(TtsInput::Finish) => finished = true,
                        None => input_open = false,
                    }
                    Step::Continue
                }
                got = next_chunk(speaking.as_mut()), if speaking.is_some() => {
                    self.on_chunk(got, &mut speaking, &end).await
                }
                () = sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                    Step::Fail(TtsError::Timeout { waited: self.config.read_timeout, waiting_for: "audio" })
                }
            };
            match step {
                Step::Continue => {}
                Step::Stop => return,
                Step::Fail(e) => break Err(e),
            }
        };
        let last = match result {
            Ok(()) => TtsEvent::Done,
            Err(e) => {
                tracing::warn!(error = %e, "polly tts failed");
                TtsEvent::Error(e)
            }
        };
        let _ = end.events.send(last).await;
    }

    async fn on_chunk(
        &self,
        got: Result<Option<Bytes>, String>,
        speaking: &mut Option<Speaking>,
        end: &TtsProviderEnd,
    ) -> Step {
        let s = speaking.as_mut().expect("guarded");
        s.deadline = Instant::now() + self.config.read_timeout;
        match got {
            Ok(Some(bytes)) => {
                let pcm = decode_le(&mut s.odd, &bytes);
                if pcm.is_empty() {
                    return Step::Continue;
                }
                let chunk = TtsChunk {
                    audio: TtsAudio::Linear16(pcm),
                    sample_rate: self.rate,
                    piece: s.piece,
                };
                match end.events.send(TtsEvent::Audio(chunk)).await {
                    Ok(()) => Step::Continue,
                    Err(_) => Step::Stop,
                }
            }
            // A trailing odd byte is half a sample: dropped.
            Ok(None) => {
                *speaking = None;
                Step::Continue
            }
            Err(e) => Step::Fail(TtsError::Provider(format!("reading polly audio: {e}"))),
        }
    }

    /// The request body for one piece.
    fn body(&self, text: &str) -> Vec<u8> {
        serde_json::json!({
            "Engine": self.config.engine,
            "OutputFormat": "pcm",
            "SampleRate": self.rate.to_string(),
            "Text": text,
            "TextType": "text",
            "VoiceId": self.voice,
        })
        .to_string()
        .into_bytes()
    }

    /// Sends one piece's signed request and checks the response head.
    async fn request(&self, text: &str) -> Result<reqwest::Response, TtsError> {
        let base = self.config.polly_url();
        let url = reqwest::Url::parse(&format!("{base}/v1/speech"))
            .map_err(|e| TtsError::Connect(format!("speech.aws.polly_endpoint: {e}")))?;
        let host = match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_owned(),
            (None, _) => return Err(TtsError::Connect(format!("{base:?} has no host"))),
        };
        let body = self.body(text);
        let mut r = Request {
            method: "POST",
            path: "/v1/speech".into(),
            headers: vec![
                ("host".into(), host),
                ("content-type".into(), "application/json".into()),
            ],
            payload_hash: sha256_hex(&body),
        };
        self.config.signer("polly").sign(&mut r, SystemTime::now());
        let mut request = self.client.post(url).body(body);
        for (name, value) in r.headers.iter().filter(|(n, _)| n != "host") {
            request = request.header(name.as_str(), value.as_str());
        }
        let sent = tokio::time::timeout(
            self.config.read_timeout,
            crate::adapter::telemetry::propagate::send("polly", "speech", request),
        )
        .await;
        let response = match sent {
            Err(_) => {
                return Err(TtsError::Timeout {
                    waited: self.config.read_timeout,
                    waiting_for: "the response",
                });
            }
            Ok(Err(e)) => return Err(TtsError::Connect(e.without_url().to_string())),
            Ok(Ok(response)) => response,
        };
        if response.status().is_success() {
            return Ok(response);
        }
        Err(refusal(response).await)
    }
}

async fn refusal(response: reqwest::Response) -> TtsError {
    let status = response.status().as_u16();
    let error_type = response
        .headers()
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = tokio::time::timeout(Duration::from_secs(1), response.bytes())
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    let text = format!(
        "polly: {}",
        error_text(status, error_type.as_deref(), &body)
    );
    if passing(status, error_type.as_deref()) {
        TtsError::Provider(text)
    } else {
        TtsError::Rejected(text)
    }
}

async fn next_chunk(speaking: Option<&mut Speaking>) -> Result<Option<Bytes>, String> {
    let Some(s) = speaking else {
        return std::future::pending().await;
    };
    s.response
        .chunk()
        .await
        .map_err(|e| e.without_url().to_string())
}
