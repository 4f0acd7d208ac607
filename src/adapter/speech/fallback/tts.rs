//! [`FallbackTts`]: text-to-speech over an ordered list of providers.
//!
//! The decorator keeps every text piece of the synthesis. On a switch it
//! re-sends, to the next provider, the pieces not yet completely spoken (a
//! piece is complete once audio of a later piece arrived), so the caller may
//! hear a sentence restart but never loses one. Piece ids stay those of the
//! outer session.

use std::sync::Arc;

use tokio::time::{Instant, sleep_until};

use super::{FallbackConfig, Link, Member, SpeechMetrics, members, own_breakers};
use crate::application::ports::speech::{
    BoxFuture, TextToSpeech, TtsConfig, TtsError, TtsEvent, TtsInput, TtsProviderEnd, TtsSession,
};

const DIRECTION: &str = "tts";

/// Text-to-speech that falls back along its providers.
#[derive(Clone)]
pub struct FallbackTts {
    members: Arc<[Member<dyn TextToSpeech>]>,
    config: FallbackConfig,
    metrics: SpeechMetrics,
}

impl FallbackTts {
    /// Providers in order of preference, each with a name for metrics and
    /// logs and a breaker of its own.
    pub fn new(
        providers: Vec<(String, Arc<dyn TextToSpeech>)>,
        config: FallbackConfig,
        metrics: SpeechMetrics,
    ) -> Self {
        Self::with_breakers(own_breakers(providers, config.breaker), config, metrics)
    }

    /// Providers in order of preference with their (possibly shared)
    /// breakers; `config.breaker` is not used.
    pub fn with_breakers(
        providers: Vec<Link<dyn TextToSpeech>>,
        config: FallbackConfig,
        metrics: SpeechMetrics,
    ) -> Self {
        let members = members(providers);
        Self {
            members,
            config,
            metrics,
        }
    }

    /// Opens the first provider at or after `from` that its breaker allows and
    /// that opens; failures are counted. `Err` with the last error, `None` if
    /// no provider was left to try.
    async fn open_from(
        &self,
        from: usize,
        config: &TtsConfig,
    ) -> Result<(usize, TtsSession), Option<TtsError>> {
        let mut last = None;
        for (index, member) in self.members.iter().enumerate().skip(from) {
            if !member.allows() {
                continue;
            }
            match member.provider.open(config.clone()).await {
                Ok(session) => return Ok((index, session)),
                Err(e) => {
                    tracing::warn!(provider = %member.name, error = %e, "tts provider failed to open");
                    member.failed();
                    self.metrics.error(DIRECTION, &member.name);
                    self.metrics.fallback(DIRECTION, &member.name);
                    last = Some(e);
                }
            }
        }
        Err(last)
    }
}

impl TextToSpeech for FallbackTts {
    fn open(&self, config: TtsConfig) -> BoxFuture<'_, Result<TtsSession, TtsError>> {
        Box::pin(async move {
            let (index, inner) = self.open_from(0, &config).await.map_err(|e| {
                e.unwrap_or_else(|| {
                    TtsError::Connect("no text-to-speech provider available".into())
                })
            })?;
            let (session, end) = TtsSession::channel(config.clone());
            let task = Task {
                this: self.clone(),
                config,
                pieces: Vec::new(),
                spoken: 0,
                finished: false,
            };
            tokio::spawn(task.run(end, index, inner));
            Ok(session)
        })
    }
}

struct Task {
    this: FallbackTts,
    config: TtsConfig,
    /// Every piece of the synthesis: outer id and text.
    pieces: Vec<(u32, String)>,
    /// Pieces before this index are completely spoken.
    spoken: usize,
    finished: bool,
}

/// The provider in use and how far it got.
struct Current {
    index: usize,
    session: TtsSession,
    /// Outer piece id of each piece sent to it, by its own piece index.
    ids: Vec<u32>,
    /// When it was given its first text, until its first audio.
    waiting_since: Option<Instant>,
    /// It has spoken: the first-byte deadline no longer applies.
    heard: bool,
}

impl Task {
    async fn run(mut self, mut end: TtsProviderEnd, index: usize, session: TtsSession) {
        let mut current = Current {
            index,
            session,
            ids: Vec::new(),
            waiting_since: None,
            heard: false,
        };
        let mut input_open = true;
        loop {
            let deadline = current
                .waiting_since
                .map(|t| t + self.this.config.first_byte_timeout);
            let failure = tokio::select! {
                biased;
                () = end.events.closed() => return,
                input = end.input.recv(), if input_open => match input {
                    Some(TtsInput::Text { piece, text }) => {
                        self.pieces.push((piece, text.clone()));
                        send(&mut current, piece, text).err()
                    }
                    Some(TtsInput::Finish) => {
                        self.finished = true;
                        current.session.finish().err()
                    }
                    None => {
                        input_open = false;
                        None
                    }
                },
                event = current.session.recv() => match event {
                    Some(TtsEvent::Audio(mut chunk)) => {
                        let member = &self.this.members[current.index];
                        current.heard = true;
                        if let Some(since) = current.waiting_since.take() {
                            self.this.metrics.first_byte(DIRECTION, &member.name, since.elapsed());
                            member.succeeded();
                        }
                        let Some(&outer) = current.ids.get(chunk.piece as usize) else {
                            continue;
                        };
                        chunk.piece = outer;
                        // Audio of a later piece completes the ones before it.
                        let position = self.pieces.iter().position(|(id, _)| *id == outer);
                        self.spoken = self.spoken.max(position.unwrap_or(0));
                        if end.events.send(TtsEvent::Audio(chunk)).await.is_err() {
                            return;
                        }
                        None
                    }
                    Some(TtsEvent::Done) => {
                        let _ = end.events.send(TtsEvent::Done).await;
                        return;
                    }
                    Some(TtsEvent::Error(e)) => Some(e),
                    None => Some(TtsError::Closed),
                },
                () = sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                    Some(TtsError::Timeout {
                        waited: self.this.config.first_byte_timeout,
                        waiting_for: "the first audio",
                    })
                }
            };
            if let Some(error) = failure {
                match self.switch(current, error).await {
                    Ok(next) => current = next,
                    Err(e) => {
                        let _ = end.events.send(TtsEvent::Error(e)).await;
                        return;
                    }
                }
            }
        }
    }

    /// Counts the failure and moves to the next provider, re-sending the
    /// pieces not completely spoken.
    async fn switch(&mut self, mut failed: Current, error: TtsError) -> Result<Current, TtsError> {
        failed.session.cancel();
        let member = &self.this.members[failed.index];
        member.failed();
        self.this.metrics.error(DIRECTION, &member.name);
        self.this.metrics.fallback(DIRECTION, &member.name);
        tracing::warn!(provider = %member.name, error = %error, "tts provider failed; falling back");
        let (index, session) = self
            .this
            .open_from(failed.index + 1, &self.config)
            .await
            .map_err(|e| e.unwrap_or(error))?;
        let mut next = Current {
            index,
            session,
            ids: Vec::new(),
            waiting_since: None,
            heard: false,
        };
        for (piece, text) in &self.pieces[self.spoken..] {
            send(&mut next, *piece, text.clone())?;
        }
        if self.finished {
            next.session.finish()?;
        }
        Ok(next)
    }
}

fn send(current: &mut Current, piece: u32, text: String) -> Result<(), TtsError> {
    current.session.send_text(text)?;
    current.ids.push(piece);
    if !current.heard {
        current.waiting_since.get_or_insert_with(Instant::now);
    }
    Ok(())
}
