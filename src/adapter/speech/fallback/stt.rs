//! [`FallbackStt`]: speech-to-text over an ordered list of providers.
//!
//! On a switch the next provider is opened with the same configuration and
//! gets the audio from then on (audio already given to the failed one is not
//! replayed); its timestamps are shifted by the audio time before the switch,
//! and `finish()`es the failed one left unanswered are asked of it again, so
//! each still gets its `Final`.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::{Instant, sleep_until};

use super::{FallbackConfig, Link, Member, SpeechMetrics, members, own_breakers};
use crate::application::ports::speech::{
    BoxFuture, SpeechToText, SttConfig, SttError, SttEvent, SttInput, SttProviderEnd,
    SttSampleRate, SttSession,
};

const DIRECTION: &str = "stt";

/// Speech-to-text that falls back along its providers.
#[derive(Clone)]
pub struct FallbackStt {
    members: Arc<[Member<dyn SpeechToText>]>,
    config: FallbackConfig,
    metrics: SpeechMetrics,
}

impl FallbackStt {
    /// Providers in order of preference, each with a name for metrics and
    /// logs and a breaker of its own.
    pub fn new(
        providers: Vec<(String, Arc<dyn SpeechToText>)>,
        config: FallbackConfig,
        metrics: SpeechMetrics,
    ) -> Self {
        Self::with_breakers(own_breakers(providers, config.breaker), config, metrics)
    }

    /// Providers in order of preference with their (possibly shared)
    /// breakers; `config.breaker` is not used.
    pub fn with_breakers(
        providers: Vec<Link<dyn SpeechToText>>,
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

    async fn open_from(
        &self,
        from: usize,
        config: &SttConfig,
    ) -> Result<(usize, SttSession), Option<SttError>> {
        let mut last = None;
        for (index, member) in self.members.iter().enumerate().skip(from) {
            if !member.allows() {
                continue;
            }
            match member.provider.open(config.clone()).await {
                Ok(session) => return Ok((index, session)),
                Err(e) => {
                    tracing::warn!(provider = %member.name, error = %e, "stt provider failed to open");
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

impl SpeechToText for FallbackStt {
    fn open(&self, config: SttConfig) -> BoxFuture<'_, Result<SttSession, SttError>> {
        Box::pin(async move {
            let (index, inner) = self.open_from(0, &config).await.map_err(|e| {
                e.unwrap_or_else(|| {
                    SttError::Connect("no speech-to-text provider available".into())
                })
            })?;
            let (session, end) =
                SttSession::channel(config.clone(), SttSession::DEFAULT_QUEUE_FRAMES);
            let task = Task {
                this: self.clone(),
                config,
                samples: 0,
                unanswered: 0,
            };
            tokio::spawn(task.run(end, index, inner));
            Ok(session)
        })
    }

    /// The highest any member asks for: each is opened at the chain's rate.
    fn sample_rate(&self, wire: SttSampleRate) -> SttSampleRate {
        self.members
            .iter()
            .map(|m| m.provider.sample_rate(wire))
            .max_by_key(|r| r.hz())
            .unwrap_or(wire)
    }
}

struct Task {
    this: FallbackStt,
    config: SttConfig,
    /// Samples received from the call so far.
    samples: u64,
    /// `finish()`es not yet answered by a `Final`.
    unanswered: u32,
}

struct Current {
    index: usize,
    session: SttSession,
    /// Audio time before this provider took over.
    offset: Duration,
    /// Audio given since its last result (stall detection).
    audio_since: Option<Instant>,
    answered_once: bool,
}

impl Task {
    async fn run(mut self, mut end: SttProviderEnd, index: usize, session: SttSession) {
        let mut current = Current {
            index,
            session,
            offset: Duration::ZERO,
            audio_since: None,
            answered_once: false,
        };
        loop {
            let stall = self.this.config.stt_stall_timeout;
            let deadline = current.audio_since.zip(stall).map(|(t, d)| t + d);
            let failure = tokio::select! {
                biased;
                () = end.events.closed() => return,
                input = end.input.recv() => match input {
                    Some(SttInput::Audio(pcm)) => {
                        self.samples += pcm.len() as u64;
                        current.audio_since.get_or_insert_with(Instant::now);
                        match current.session.push_audio(pcm) {
                            // The queue absorbs short hiccups; a stall shows as no results.
                            Ok(()) | Err(SttError::Overrun { .. }) => None,
                            Err(e) => Some(e),
                        }
                    }
                    Some(SttInput::Finish) => {
                        self.unanswered += 1;
                        current.session.finish().err()
                    }
                    None => return,
                },
                event = current.session.recv() => match event {
                    Some(SttEvent::Error(e)) => Some(e),
                    Some(event) => {
                        let event = self.on_result(&mut current, event);
                        if end.events.send(event).await.is_err() {
                            return;
                        }
                        None
                    }
                    None => Some(SttError::Closed),
                },
                () = sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                    Some(SttError::Timeout { waited: stall.unwrap_or_default(), waiting_for: "a result while audio flows" })
                }
            };
            if let Some(error) = failure {
                match self.switch(current, error).await {
                    Ok(next) => current = next,
                    Err(e) => {
                        let _ = end.events.send(SttEvent::Error(e)).await;
                        return;
                    }
                }
            }
        }
    }

    fn on_result(&mut self, current: &mut Current, event: SttEvent) -> SttEvent {
        current.audio_since = None;
        if !current.answered_once {
            current.answered_once = true;
            let member = &self.this.members[current.index];
            let took = current
                .session
                .timing()
                .time_to_first_result()
                .unwrap_or_default();
            self.this.metrics.first_byte(DIRECTION, &member.name, took);
            member.succeeded();
        }
        let shift = current.offset;
        match event {
            SttEvent::SpeechStarted { at } => SttEvent::SpeechStarted { at: at + shift },
            SttEvent::Interim {
                text,
                start,
                end,
                confidence,
            } => SttEvent::Interim {
                text,
                start: start + shift,
                end: end + shift,
                confidence,
            },
            SttEvent::Final {
                text,
                start,
                end,
                confidence,
            } => {
                self.unanswered = self.unanswered.saturating_sub(1);
                SttEvent::Final {
                    text,
                    start: start + shift,
                    end: end + shift,
                    confidence,
                }
            }
            other => other,
        }
    }

    async fn switch(&mut self, mut failed: Current, error: SttError) -> Result<Current, SttError> {
        failed.session.cancel();
        let member = &self.this.members[failed.index];
        member.failed();
        self.this.metrics.error(DIRECTION, &member.name);
        self.this.metrics.fallback(DIRECTION, &member.name);
        tracing::warn!(provider = %member.name, error = %error, "stt provider failed; falling back");
        let (index, mut session) = self
            .this
            .open_from(failed.index + 1, &self.config)
            .await
            .map_err(|e| e.unwrap_or(error))?;
        for _ in 0..self.unanswered {
            session.finish()?;
        }
        let offset = self.config.sample_rate.duration_of(self.samples);
        Ok(Current {
            index,
            session,
            offset,
            audio_since: None,
            answered_once: false,
        })
    }
}
