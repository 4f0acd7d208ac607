//! Sans-IO part of a realtime session's turn-taking: the utterances ended by
//! `finish()` and awaiting their transcript, matched to the server's items,
//! answered with one `Final` each, in order.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

use crate::application::ports::speech::SttEvent;

/// An ended utterance (committed, or too short to commit) awaiting its `Final`.
#[derive(Debug)]
pub(crate) struct Item {
    /// Its audio at the session's rate, for a REST retry (empty: not kept).
    pub(crate) audio: Vec<i16>,
    /// The server's id, once `committed` named it.
    id: Option<String>,
    /// Deltas so far.
    text: String,
    /// The transcript, once known.
    pub(crate) done: Option<String>,
    start: Duration,
    end: Duration,
    deadline: Instant,
}

impl Item {
    /// An utterance committed to the server, answered by `deadline`.
    pub(crate) fn committed(
        audio: Vec<i16>,
        span: (Duration, Duration),
        deadline: Instant,
    ) -> Self {
        Self {
            audio,
            id: None,
            text: String::new(),
            done: None,
            start: span.0,
            end: span.1,
            deadline,
        }
    }

    /// An utterance answered with an empty transcript without asking.
    pub(crate) fn empty(span: (Duration, Duration)) -> Self {
        Self {
            done: Some(String::new()),
            ..Self::committed(Vec::new(), span, Instant::now())
        }
    }
}

/// The utterances of a session awaiting their `Final`, oldest first.
#[derive(Debug, Default)]
pub(crate) struct Items {
    queue: VecDeque<Item>,
}

impl Items {
    pub(crate) fn push(&mut self, item: Item) {
        self.queue.push_back(item);
    }

    /// `input_audio_buffer.committed`: the oldest commit not yet named is `id`.
    pub(crate) fn committed(&mut self, id: String) {
        if let Some(item) = self
            .queue
            .iter_mut()
            .find(|i| i.id.is_none() && i.done.is_none())
        {
            item.id = Some(id);
        }
    }

    fn named(&mut self, id: &str) -> Option<&mut Item> {
        self.queue.iter_mut().find(|i| i.id.as_deref() == Some(id))
    }

    /// A delta of item `id`: the interim it makes, if the item is ours and open.
    pub(crate) fn delta(&mut self, id: &str, delta: &str) -> Option<SttEvent> {
        let item = self.named(id).filter(|i| i.done.is_none())?;
        item.text.push_str(delta);
        let text = item.text.trim();
        (!text.is_empty()).then(|| SttEvent::Interim {
            text: text.to_owned(),
            start: item.start,
            end: item.end,
            confidence: None,
        })
    }

    /// Item `id`'s transcript.
    pub(crate) fn completed(&mut self, id: &str, transcript: String) {
        if let Some(item) = self.named(id).filter(|i| i.done.is_none()) {
            item.done = Some(transcript);
        }
    }

    /// When the oldest unanswered utterance times out.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.queue
            .iter()
            .filter(|i| i.done.is_none())
            .map(|i| i.deadline)
            .min()
    }

    /// Utterances past their deadline end with the deltas heard; whether any did.
    pub(crate) fn expire(&mut self, now: Instant) -> bool {
        let mut any = false;
        for item in self
            .queue
            .iter_mut()
            .filter(|i| i.done.is_none() && i.deadline <= now)
        {
            item.done = Some(item.text.trim().to_owned());
            any = true;
        }
        any
    }

    /// The unanswered utterances, oldest first (for a REST retry).
    pub(crate) fn unanswered(&mut self) -> impl Iterator<Item = &mut Item> {
        self.queue.iter_mut().filter(|i| i.done.is_none())
    }

    /// `Final`s for the answered utterances at the front, in order.
    pub(crate) fn settle(&mut self) -> Vec<SttEvent> {
        let mut finals = Vec::new();
        while self.queue.front().is_some_and(|i| i.done.is_some()) {
            let item = self.queue.pop_front().expect("front exists");
            finals.push(SttEvent::Final {
                text: item.done.unwrap_or_default(),
                start: item.start,
                end: item.end,
                confidence: None,
            });
        }
        finals
    }
}
