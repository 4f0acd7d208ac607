//! Speculative turns: the caller's words go to the agent as soon as the
//! recogniser has them, while the turn's end is still awaited (endpointing,
//! a trailing "and…"). The reply is held, not spoken. When the turn ends with
//! the same words, the held reply is used at once, so the agent's thinking
//! overlapped the wait. When the caller goes on, the request is dropped and
//! the next turn tells the agent (`superseded`) that the dropped one is
//! replaced by it.

use super::{
    CallCore, Effect, Input,
    conversation::{Conversation, Speculation},
    timers::Timer,
};
use crate::application::ports::orchestrator::Turn;

impl CallCore {
    /// Sends the turn as heard so far when the caller is quiet, every final
    /// asked for is in, and the turn is not over yet.
    pub(super) fn speculate(&mut self) {
        if !self.cfg.speculative_reply {
            return;
        }
        let endpointing = self.timers.is_set(Timer::Endpoint);
        let Conversation::Listening(l) = &mut self.conv else {
            return;
        };
        let quiet = l.finished_early || endpointing;
        if !quiet || l.finals_owed > 0 || l.transcript.is_empty() {
            return;
        }
        if l.speculation
            .as_ref()
            .is_some_and(|s| s.text == l.transcript)
        {
            return;
        }
        let text = l.transcript.clone();
        let had_one = l.speculation.replace(Speculation {
            text: text.clone(),
            held: Vec::new(),
        });
        if had_one.is_some() {
            // The turn sent before (the caller said more, quietly) is replaced.
            self.superseded = true;
            self.emit(Effect::DropReply);
        }
        let turn = Turn {
            text,
            interrupted: self.interrupted.as_ref().map(|_| true),
            heard_text: self.interrupted.clone(),
            dtmf: None,
            superseded: self.superseded.then_some(true),
            resumed_after_takeover: self.taken_over.then_some(true),
            answered_by: self.who.answered_by,
        };
        self.ahead = true;
        self.emit(Effect::SendTurn(turn));
    }

    /// The caller goes on (or the turn is dropped): the turn sent ahead is
    /// not the turn; stop reading its reply.
    pub(super) fn drop_speculation(&mut self) {
        let Conversation::Listening(l) = &mut self.conv else {
            return;
        };
        if l.speculation.take().is_some() {
            self.ahead = false;
            self.superseded = true;
            self.emit(Effect::DropReply);
        }
    }

    /// After each input: a speculation lost with its listening state (a
    /// transfer, a hangup, a prompt) takes its reply stream with it.
    pub(super) fn settle_speculation(&mut self) {
        let held = matches!(&self.conv, Conversation::Listening(l) if l.speculation.is_some());
        if self.ahead && !held {
            self.ahead = false;
            self.superseded = true;
            self.emit(Effect::DropReply);
        }
    }

    /// Keeps the reply to a speculative turn while the turn is not over;
    /// gives back every other input.
    pub(super) fn hold_speculative_reply(&mut self, input: Input) -> Option<Input> {
        let replying = matches!(
            input,
            Input::ReplyText(_)
                | Input::ReplyAction(_)
                | Input::ReplyDone
                | Input::ReplyFailed { .. }
        );
        match &mut self.conv {
            Conversation::Listening(l) if replying => {
                if let Some(s) = &mut l.speculation {
                    s.held.push(input);
                }
                // A reply with no speculation is a dropped request's: gone.
                None
            }
            _ => Some(input),
        }
    }

    /// Takes the speculation if it carried exactly `text`.
    pub(super) fn take_speculation(&mut self, text: &str) -> Option<Speculation> {
        let Conversation::Listening(l) = &mut self.conv else {
            return None;
        };
        let s = l.speculation.take()?;
        self.ahead = false;
        if s.text == text {
            return Some(s);
        }
        self.superseded = true;
        self.emit(Effect::DropReply);
        None
    }

    /// The turn is over with the words sent ahead: their reply is the
    /// answer. Held parts are replayed as if they came now.
    pub(super) fn adopt_speculation(&mut self, speculation: Speculation) {
        self.interrupted = None;
        self.superseded = false;
        self.taken_over = false;
        self.start_reply();
        for input in speculation.held {
            self.dispatch(input);
        }
    }
}
