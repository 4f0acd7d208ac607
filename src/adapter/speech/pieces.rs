//! The session loop of the TTS adapters that make one HTTP request per text
//! piece (OpenAI-compatible, Azure, Polly).
//!
//! Pieces are spoken in order: the next piece's request goes out once the
//! previous body ended. Each body is read chunk by chunk so audio flows
//! before the sentence is synthesised whole, under a read deadline that
//! every chunk renews. A provider supplies its request and how its body
//! chunks become audio ([`PieceSpeaker`]); [`speak`] does the rest. When the
//! session goes away the response is dropped, which closes the connection.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::HeaderMap;
use tokio::time::{Instant, sleep_until};

use super::deepgram::socket::excerpt;
use crate::application::ports::speech::{
    TtsAudio, TtsChunk, TtsError, TtsEvent, TtsInput, TtsProviderEnd,
};

/// One provider's side of a request-per-piece synthesis.
pub(crate) trait PieceSpeaker: Send + Sync + 'static {
    /// Its name in logs.
    fn name(&self) -> &'static str;

    /// Longest wait for the response head or the next body chunk.
    fn read_timeout(&self) -> Duration;

    /// One piece's request, ready to send (an `Err` fails the session).
    fn request(&self, text: &str) -> Result<reqwest::RequestBuilder, TtsError>;

    /// A body chunk as audio and its sample rate; `odd` keeps a byte of a
    /// 16-bit sample split across chunks.
    fn decode(&self, odd: &mut Option<u8>, bytes: &[u8]) -> (TtsAudio, u32);

    /// The error for an answer that is not 2xx. By default throttling (429)
    /// and server errors may pass (the chain tries the next provider and the
    /// breaker counts them); anything else is the request's fault.
    fn refusal(&self, status: u16, _headers: &HeaderMap, body: &[u8]) -> TtsError {
        let message = format!("HTTP {status}: {}", excerpt(&String::from_utf8_lossy(body)));
        if status == 429 || status >= 500 {
            TtsError::Provider(message)
        } else {
            TtsError::Rejected(message)
        }
    }
}

/// Runs one session: speaks every piece of `end`'s input, then `Done`, or
/// the first failure as `Error`.
pub(crate) async fn speak<S: PieceSpeaker>(speaker: S, mut end: TtsProviderEnd) {
    let last = match Pieces::new(&speaker).run(&mut end).await {
        // The session is gone: nobody to tell.
        None => return,
        Some(Ok(())) => TtsEvent::Done,
        Some(Err(e)) => {
            tracing::warn!(error = %e, "{} tts failed", speaker.name());
            TtsEvent::Error(e)
        }
    };
    let _ = end.events.send(last).await;
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
    /// The session went away.
    Stop,
    Fail(TtsError),
}

/// The loop's state: pieces waiting, and the one being read.
struct Pieces<'a, S> {
    speaker: &'a S,
    queue: VecDeque<(u32, String)>,
    finished: bool,
    input_open: bool,
    speaking: Option<Speaking>,
}

impl<'a, S: PieceSpeaker> Pieces<'a, S> {
    fn new(speaker: &'a S) -> Self {
        Self {
            speaker,
            queue: VecDeque::new(),
            finished: false,
            input_open: true,
            speaking: None,
        }
    }

    /// `None` when the session went away, else how it ended.
    async fn run(mut self, end: &mut TtsProviderEnd) -> Option<Result<(), TtsError>> {
        loop {
            if self.speaking.is_none() {
                if let Some((piece, text)) = self.queue.pop_front() {
                    let started = tokio::select! {
                        biased;
                        () = end.events.closed() => return None,
                        r = send(self.speaker, &text) => r,
                    };
                    let response = match started {
                        Ok(response) => response,
                        Err(e) => return Some(Err(e)),
                    };
                    let deadline = Instant::now() + self.speaker.read_timeout();
                    self.speaking = Some(Speaking {
                        piece,
                        response,
                        odd: None,
                        deadline,
                    });
                } else if self.finished {
                    return Some(Ok(()));
                }
            }
            match self.step(end).await {
                Step::Continue => {}
                Step::Stop => return None,
                Step::Fail(e) => return Some(Err(e)),
            }
        }
    }

    /// Waits for the next input, body chunk or deadline.
    async fn step(&mut self, end: &mut TtsProviderEnd) -> Step {
        let deadline = self.speaking.as_ref().map(|s| s.deadline);
        tokio::select! {
            biased;
            () = end.events.closed() => Step::Stop,
            input = end.input.recv(), if self.input_open => {
                match input {
                    Some(TtsInput::Text { piece, text }) => self.queue.push_back((piece, text)),
                    Some(TtsInput::Finish) => self.finished = true,
                    None => self.input_open = false,
                }
                Step::Continue
            }
            got = next_chunk(self.speaking.as_mut()), if self.speaking.is_some() => {
                self.on_chunk(got, end).await
            }
            () = sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                let waited = self.speaker.read_timeout();
                Step::Fail(TtsError::Timeout { waited, waiting_for: "audio" })
            }
        }
    }

    async fn on_chunk(&mut self, got: Result<Option<Bytes>, String>, end: &TtsProviderEnd) -> Step {
        let s = self.speaking.as_mut().expect("guarded");
        s.deadline = Instant::now() + self.speaker.read_timeout();
        match got {
            Ok(Some(bytes)) => {
                let (audio, sample_rate) = self.speaker.decode(&mut s.odd, &bytes);
                let chunk = TtsChunk {
                    audio,
                    sample_rate,
                    piece: s.piece,
                };
                if chunk.samples() == 0 {
                    return Step::Continue;
                }
                match end.events.send(TtsEvent::Audio(chunk)).await {
                    Ok(()) => Step::Continue,
                    Err(_) => Step::Stop,
                }
            }
            // A trailing odd byte is half a sample: dropped.
            Ok(None) => {
                self.speaking = None;
                Step::Continue
            }
            Err(e) => Step::Fail(TtsError::Provider(format!("reading audio: {e}"))),
        }
    }
}

/// Sends one piece's request and checks the response head.
async fn send<S: PieceSpeaker>(speaker: &S, text: &str) -> Result<reqwest::Response, TtsError> {
    let request = speaker.request(text)?;
    let waited = speaker.read_timeout();
    // A span of its own, and `traceparent` for the provider, when traces are on.
    let sent = crate::adapter::telemetry::propagate::send(speaker.name(), "synthesize", request);
    let response = match tokio::time::timeout(waited, sent).await {
        Err(_) => {
            return Err(TtsError::Timeout {
                waited,
                waiting_for: "the response",
            });
        }
        Ok(Err(e)) => return Err(TtsError::Connect(e.without_url().to_string())),
        Ok(Ok(response)) => response,
    };
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let headers = response.headers().clone();
    let body = tokio::time::timeout(Duration::from_secs(1), response.bytes())
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    Err(speaker.refusal(status.as_u16(), &headers, &body))
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
