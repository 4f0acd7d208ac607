//! The fake synthesiser's task: one per session.

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::sync::watch;
use tokio::time::{Instant, sleep_until};

use super::{FakeTtsConfig, FakeTtsFailure, FakeTtsLog};
use crate::adapter::speech::fake::synthesize;
use crate::application::ports::speech::{TtsAudio, TtsChunk, TtsEvent, TtsInput, TtsProviderEnd};

pub(super) struct Speaker {
    pub(super) config: FakeTtsConfig,
    pub(super) failure: Option<FakeTtsFailure>,
    pub(super) log: Arc<watch::Sender<FakeTtsLog>>,
}

enum Ending {
    Done,
    Failed,
    Cancelled,
}

impl Speaker {
    pub(super) async fn run(self, mut end: TtsProviderEnd) {
        let ending = self.speak(&mut end).await;
        self.log.send_modify(|log| match ending {
            Ending::Done => log.done += 1,
            Ending::Failed => log.failed += 1,
            Ending::Cancelled => log.cancelled += 1,
        });
    }

    async fn speak(&self, end: &mut TtsProviderEnd) -> Ending {
        let rate = self.config.sample_rate;
        let chunk_len = (u128::from(rate) * self.config.chunk.as_micros() / 1_000_000) as usize;
        let interval = self.config.chunk / self.config.speedup.max(1);
        // Each utterance with how much of it went out: a chunk is copied out
        // of it, the rest stays in place (splitting the rest off per chunk
        // copied the whole utterance every 20 ms, the costliest thing in the
        // load benchmark's profile).
        let mut queue: VecDeque<(u32, Vec<i16>, usize)> = VecDeque::new();
        let mut next_due: Option<Instant> = None;
        let (mut finished, mut input_open, mut sent) = (false, true, 0u64);
        loop {
            if finished && queue.is_empty() {
                return match end.events.send(TtsEvent::Done).await {
                    Ok(()) => Ending::Done,
                    Err(_) => Ending::Cancelled,
                };
            }
            let stalled =
                matches!(self.failure, Some(FakeTtsFailure::StallAfterChunks(n)) if sent >= n);
            let due = next_due.filter(|_| !queue.is_empty() && !stalled);
            tokio::select! {
                biased;
                () = end.events.closed() => return Ending::Cancelled,
                input = end.input.recv(), if input_open => match input {
                    Some(TtsInput::Text { piece, text }) => {
                        let pcm = synthesize(&text, rate, self.config.per_char);
                        self.log.send_modify(|log| super::super::log_text(&mut log.texts, text));
                        let now = Instant::now();
                        next_due = Some(match next_due {
                            None => now + self.config.first_audio_delay,
                            Some(at) if queue.is_empty() => at.max(now),
                            Some(at) => at,
                        });
                        queue.push_back((piece, pcm, 0));
                    }
                    Some(TtsInput::Finish) => finished = true,
                    // The session is gone; `closed()` fires next.
                    None => input_open = false,
                },
                () = sleep_until(due.unwrap_or_else(Instant::now)), if due.is_some() => {
                    if let Some(FakeTtsFailure::AfterChunks(n, error)) = &self.failure
                        && sent >= *n
                    {
                        let _ = end.events.send(TtsEvent::Error(error.clone())).await;
                        return Ending::Failed;
                    }
                    let Some((piece, pcm, done)) = queue.front_mut() else { continue };
                    let piece = *piece;
                    let upto = (*done + chunk_len.max(1)).min(pcm.len());
                    let samples = pcm[*done..upto].to_vec();
                    *done = upto;
                    if *done == pcm.len() {
                        queue.pop_front();
                    }
                    next_due = next_due.map(|at| at + interval);
                    if samples.is_empty() {
                        continue;
                    }
                    let chunk = TtsChunk { audio: TtsAudio::Linear16(samples), sample_rate: rate, piece };
                    if end.events.send(TtsEvent::Audio(chunk)).await.is_err() {
                        return Ending::Cancelled;
                    }
                    sent += 1;
                    self.log.send_modify(|log| log.chunks += 1);
                }
            }
        }
    }
}
