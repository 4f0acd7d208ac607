//! Speech-to-text over `POST /v1/audio/transcriptions`: one request per
//! utterance, the utterance as a WAV file (multipart `file`, `model`,
//! `language`, `prompt`, `response_format=json`, answered by `{"text": …}`).
//! No interim results. Used when `stt_mode = "rest"`, and when the Realtime
//! socket cannot be opened.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use super::realtime::{parse_rest, parse_rest_error};
use super::stt_config::OpenAiSttConfig;
use crate::adapter::speech::deepgram::socket::excerpt;
use crate::application::ports::speech::{
    SttError, SttEvent, SttInput, SttProviderEnd, SttSampleRate,
};

/// The API refuses audio shorter than this; such utterances get an empty `Final`.
pub(crate) const MIN_AUDIO: Duration = Duration::from_millis(100);

/// What one utterance's request needs besides its audio.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) client: reqwest::Client,
    pub(crate) config: OpenAiSttConfig,
    pub(crate) language: Option<String>,
    pub(crate) prompt: Option<String>,
    pub(crate) rate: SttSampleRate,
}

const BOUNDARY: &str = "vg-openai-stt-7d1f0c3a9b";

fn part(body: &mut Vec<u8>, name: &str, value: &str) {
    body.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        )
        .as_bytes(),
    );
}

/// The multipart body (built here: reqwest's `multipart` feature would pull
/// in MIME guessing for one fixed content type).
fn multipart(r: &Request, wav: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(wav.len() + 1024);
    body.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"utterance.wav\"\r\n\
             Content-Type: audio/wav\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(wav);
    body.extend_from_slice(b"\r\n");
    part(&mut body, "model", &r.config.model);
    if let Some(language) = &r.language {
        part(&mut body, "language", language);
    }
    if let Some(prompt) = &r.prompt {
        part(&mut body, "prompt", prompt);
    }
    part(&mut body, "response_format", "json");
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// `pcm` as a 16-bit mono WAV file.
pub(crate) fn wav(rate: SttSampleRate, pcm: &[i16]) -> Result<Vec<u8>, SttError> {
    let mut out = std::io::Cursor::new(Vec::with_capacity(44 + pcm.len() * 2));
    media::wav::write(&mut out, rate.hz(), pcm).map_err(|e| SttError::Protocol(e.to_string()))?;
    Ok(out.into_inner())
}

/// Transcribes one utterance.
pub(crate) async fn transcribe(r: &Request, pcm: &[i16]) -> Result<String, SttError> {
    let body = multipart(r, &wav(r.rate, pcm)?);
    let mut request = r
        .client
        .post(r.config.rest_url())
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body);
    if !r.config.api_key.is_empty() {
        request = request.bearer_auth(r.config.api_key.expose());
    }
    let waited = r.config.final_timeout;
    let timeout = |waiting_for| SttError::Timeout {
        waited,
        waiting_for,
    };
    let response = tokio::time::timeout(
        waited,
        crate::adapter::telemetry::propagate::send("openai", "transcriptions", request),
    )
    .await
    .map_err(|_| timeout("the transcription"))?
    .map_err(|e| SttError::Connect(e.without_url().to_string()))?;
    let status = response.status();
    let text = tokio::time::timeout(waited, response.text())
        .await
        .map_err(|_| timeout("the transcription"))?
        .map_err(|e| SttError::Provider(e.without_url().to_string()))?;
    if status.is_success() {
        return parse_rest(&text).map_err(SttError::Protocol);
    }
    let said = parse_rest_error(&text).map_or_else(|| excerpt(&text), |e| e.to_string());
    let message = format!("HTTP {}: {said}", status.as_u16());
    // A bad key or request will not pass; throttling and server errors may.
    if status.as_u16() == 429 || status.is_server_error() {
        Err(SttError::Provider(message))
    } else {
        Err(SttError::Rejected(message))
    }
}

type Pending = Pin<Box<dyn Future<Output = (Result<String, SttError>, Duration, Duration)> + Send>>;

/// A session over REST: audio gathers until `finish()`, whose `Final` comes
/// from one request; requests run one at a time, in order, while audio
/// keeps flowing in.
pub(crate) async fn run(request: Request, mut end: SttProviderEnd) {
    let rate = request.rate;
    let mut audio: Vec<i16> = Vec::new();
    let (mut heard, mut start) = (0u64, 0u64);
    let mut queue: VecDeque<(Vec<i16>, Duration, Duration)> = VecDeque::new();
    let mut in_flight: Option<Pending> = None;
    let error = loop {
        if in_flight.is_none()
            && let Some((pcm, from, to)) = queue.pop_front()
        {
            let r = request.clone();
            in_flight = Some(Box::pin(async move {
                let text = if rate.duration_of(pcm.len() as u64) < MIN_AUDIO {
                    Ok(String::new())
                } else {
                    transcribe(&r, &pcm).await
                };
                (text, from, to)
            }));
        }
        tokio::select! {
            biased;
            () = end.events.closed() => return,
            input = end.input.recv() => match input {
                Some(SttInput::Audio(pcm)) => {
                    heard += pcm.len() as u64;
                    audio.extend(pcm);
                }
                Some(SttInput::Finish) => {
                    let (from, to) = (rate.duration_of(start), rate.duration_of(heard));
                    queue.push_back((std::mem::take(&mut audio), from, to));
                    start = heard;
                }
                None => return,
            },
            (text, start, end_at) = async { in_flight.as_mut().expect("guarded").await },
                if in_flight.is_some() => {
                in_flight = None;
                match text {
                    Ok(text) => {
                        let event = SttEvent::Final { text, start, end: end_at, confidence: None };
                        if end.events.send(event).await.is_err() {
                            return;
                        }
                    }
                    Err(e) => break e,
                }
            }
        }
    };
    tracing::warn!(error = %error, "openai rest stt failed");
    let _ = end.events.send(SttEvent::Error(error)).await;
}
