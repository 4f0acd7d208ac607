//! Live speech-to-text over Deepgram's `/v1/listen` WebSocket.
//!
//! Protocol (developers.deepgram.com: "Live Audio" API reference, "Audio Keep
//! Alive", "Finalize", "Close Stream", "STT Troubleshooting WebSocket, NET, and
//! DATA Errors"): the query names the model and raw audio format
//! (`encoding=linear16&sample_rate=…&channels=1`) and asks for
//! `interim_results`, `endpointing`, `utterance_end_ms` and `vad_events`;
//! audio goes as binary frames; `{"type":"KeepAlive"}` (a text frame) every
//! 3–5 s while no audio flows, or the server closes after 10 s (`NET-0001`);
//! `{"type":"Finalize"}` flushes, answered by a `Results` with
//! `from_finalize: true` when audio was buffered; `{"type":"CloseStream"}`
//! ends the stream. A refused key fails the handshake (HTTP 401); mid-stream
//! failures arrive as a close frame (1008 `DATA-…`, 1011 `NET-…`).
//!
//! Mapping: non-final `Results` → `Interim`; `is_final` segments gather into
//! one `Final` per utterance (see [`super::listen`]); each `finish()` sends
//! `Finalize` and is answered by exactly one `Final`, at the latest after
//! `finalize_timeout`.

use tokio::time::{Instant, sleep_until};
use tokio_tungstenite::tungstenite::Message as Frame;

use futures_util::SinkExt;

use super::config::{DeepgramConfig, stt_connect_error};
use super::listen::{self, Message, Utterance};
use super::socket::{self, Reader, ReceiveError, Received, Writer};
use crate::application::ports::speech::{
    BoxFuture, SpeechToText, SttConfig, SttError, SttEvent, SttInput, SttProviderEnd, SttSession,
};

/// The Deepgram live STT adapter.
#[derive(Debug, Clone)]
pub struct DeepgramStt {
    config: DeepgramConfig,
}

impl DeepgramStt {
    /// An adapter with this configuration.
    pub fn new(config: DeepgramConfig) -> Self {
        Self { config }
    }

    fn url(&self, session: &SttConfig) -> Result<String, SttError> {
        let c = &self.config;
        let mut url = c.url("/v1/listen").map_err(SttError::Connect)?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("model", &c.stt_model)
                .append_pair("encoding", "linear16")
                .append_pair("sample_rate", &session.sample_rate.hz().to_string())
                .append_pair("channels", "1")
                .append_pair("interim_results", &session.interim_results.to_string())
                .append_pair("vad_events", "true")
                .append_pair(
                    "language",
                    c.language.as_deref().unwrap_or(&session.language),
                );
            match c.endpointing_ms {
                Some(ms) => q.append_pair("endpointing", &ms.to_string()),
                None => q.append_pair("endpointing", "false"),
            };
            if let Some(ms) = c.utterance_end_ms {
                q.append_pair("utterance_end_ms", &ms.to_string());
            }
            // Nova-3 boosts with `keyterm`; earlier models with `keywords`.
            let boost = if c.stt_model.starts_with("nova-3") {
                "keyterm"
            } else {
                "keywords"
            };
            for hint in &session.hints {
                q.append_pair(boost, hint);
            }
        }
        Ok(url.into())
    }
}

impl SpeechToText for DeepgramStt {
    fn open(&self, config: SttConfig) -> BoxFuture<'_, Result<SttSession, SttError>> {
        Box::pin(async move {
            let url = self.url(&config)?;
            let (writer, reader) =
                socket::connect(&url, &self.config.auth(), self.config.connect_timeout)
                    .await
                    .map_err(stt_connect_error)?;
            let interim = config.interim_results;
            let (session, end) = SttSession::channel(config, SttSession::DEFAULT_QUEUE_FRAMES);
            let task = Task {
                config: self.config.clone(),
                interim,
                writer,
                utterance: Utterance::default(),
                pending_finishes: 0,
                finalize_deadline: None,
                heard_until: std::time::Duration::ZERO,
            };
            tokio::spawn(task.run(end, reader));
            Ok(session)
        })
    }
}

struct Task {
    config: DeepgramConfig,
    interim: bool,
    writer: Writer,
    utterance: Utterance,
    /// `finish()`es not yet answered by a `Final`.
    pending_finishes: u32,
    finalize_deadline: Option<Instant>,
    /// Audio time of the last result, for a `Final` made up on timeout.
    heard_until: std::time::Duration,
}

fn control(kind: &str) -> serde_json::Value {
    serde_json::json!({ "type": kind })
}

impl Task {
    async fn run(mut self, mut end: SttProviderEnd, mut reader: Reader) {
        let mut last_sent = Instant::now();
        let error = loop {
            let keepalive_at = last_sent + self.config.keepalive;
            let step = tokio::select! {
                biased;
                () = end.events.closed() => break None,
                input = end.input.recv() => match input {
                    Some(input) => {
                        last_sent = Instant::now();
                        self.on_input(input).await.map(|()| None)
                    }
                    None => break None,
                },
                got = socket::receive(&mut reader) => self.on_message(got),
                () = sleep_until(keepalive_at) => {
                    last_sent = Instant::now();
                    let sent = socket::send_json(&mut self.writer, &control("KeepAlive")).await;
                    sent.map(|()| None).map_err(SttError::Provider)
                }
                () = sleep_until(self.finalize_deadline.unwrap_or_else(Instant::now)),
                    if self.finalize_deadline.is_some() => {
                    let at = self.heard_until;
                    let event = self.utterance.take(at);
                    Ok(Some(self.answered(event)))
                }
            };
            match step {
                Ok(Some(event)) => {
                    if end.events.send(event).await.is_err() {
                        break None;
                    }
                }
                Ok(None) => {}
                Err(e) => break Some(e),
            }
        };
        match error {
            // Cancelled or dropped: tell Deepgram we are done (it bills until then).
            None => socket::close(&mut self.writer, Some(control("CloseStream"))).await,
            Some(e) => {
                tracing::warn!(error = %e, "deepgram stt failed");
                socket::close(&mut self.writer, None).await;
                let _ = end.events.send(SttEvent::Error(e)).await;
            }
        }
    }

    async fn on_input(&mut self, input: SttInput) -> Result<(), SttError> {
        match input {
            SttInput::Audio(pcm) => {
                let bytes: Vec<u8> = pcm.iter().flat_map(|s| s.to_le_bytes()).collect();
                self.writer
                    .send(Frame::binary(bytes))
                    .await
                    .map_err(|e| SttError::Provider(e.to_string()))
            }
            SttInput::Finish => {
                self.pending_finishes += 1;
                let deadline = Instant::now() + self.config.finalize_timeout;
                self.finalize_deadline.get_or_insert(deadline);
                socket::send_json(&mut self.writer, &control("Finalize"))
                    .await
                    .map_err(SttError::Provider)
            }
        }
    }

    /// Counts a `Final` against the pending `finish()`es.
    fn answered(&mut self, event: SttEvent) -> SttEvent {
        if self.pending_finishes > 0 {
            self.pending_finishes -= 1;
        }
        self.finalize_deadline =
            (self.pending_finishes > 0).then(|| Instant::now() + self.config.finalize_timeout);
        event
    }

    fn on_message(
        &mut self,
        got: Result<Received, ReceiveError>,
    ) -> Result<Option<SttEvent>, SttError> {
        let got = got.map_err(|e| match e {
            ReceiveError::Transport(e) => SttError::Provider(e),
            ReceiveError::Malformed(e) => SttError::Protocol(e),
        })?;
        let text = match got {
            Received::Text(text) => text,
            Received::Binary(_) => {
                return Err(SttError::Protocol("binary message from /v1/listen".into()));
            }
            Received::Closed(frame) => {
                let why = frame.map_or("no close frame".into(), |(code, reason)| {
                    format!("{code} {reason}")
                });
                return Err(SttError::Provider(format!(
                    "deepgram closed the stream: {why}"
                )));
            }
        };
        match listen::parse(&text).map_err(SttError::Protocol)? {
            Message::Results(r) => {
                self.heard_until = self.heard_until.max(r.end);
                let pending = self.pending_finishes > 0;
                let event = self.utterance.on_results(r, self.interim, pending);
                Ok(event.map(|e| match e {
                    SttEvent::Final { .. } => self.answered(e),
                    other => other,
                }))
            }
            Message::SpeechStarted { at } => Ok(Some(SttEvent::SpeechStarted { at })),
            Message::UtteranceEnd => {
                let event = self.utterance.on_utterance_end(self.heard_until);
                Ok(event.map(|e| self.answered(e)))
            }
            Message::Metadata | Message::Other(_) => Ok(None),
            Message::Error(said) => Err(SttError::Provider(socket::excerpt(&said))),
        }
    }
}
