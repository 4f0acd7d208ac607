//! The call's history record: what was said each turn and how long it took,
//! written once when the call ends.

use super::{CallCore, Effect};
use crate::{
    application::ports::history::{BargeInRecord, CallRecord, TurnRecord},
    domain::{call::EndReason, events::TurnLatency},
};

/// A call that talks for hours must not grow its record without end; past
/// this many turns the rest are left out of the history (events keep them).
const MAX_TURNS: usize = 1000;

impl CallCore {
    /// The caller finished a turn of speech.
    pub(super) fn history_caller(&mut self, text: String) {
        self.keys.end_run();
        if self.log.records.len() < MAX_TURNS {
            self.log.records.push(TurnRecord {
                caller: Some(text),
                agent: None,
                interrupted: false,
                barge_in: None,
                latency: TurnLatency::default(),
            });
        }
    }

    /// Whether the caller's keys are secure now: the route says so, or the
    /// orchestrator asked for secure input.
    pub(super) fn keys_secure(&self) -> bool {
        self.keys.secure_requested() || self.who.route.as_ref().is_some_and(|r| r.secure_dtmf)
    }

    /// The caller pressed `key`: keys in a row are one entry (see [`super::keys`]).
    pub(super) fn history_key(&mut self, key: char, secure: bool) {
        let next = self.log.records.len();
        let (record, new, text) = self.keys.press(key, secure, next);
        if new {
            if next >= MAX_TURNS {
                self.keys.end_run();
                return;
            }
            self.log.records.push(TurnRecord {
                caller: None,
                agent: None,
                interrupted: false,
                barge_in: None,
                latency: TurnLatency::default(),
            });
        }
        self.log.records[record].caller = Some(text);
    }

    /// The agent spoke `text` (all of it, or what was heard before the
    /// barge-in `cut`): the answer to the caller's last turn, or a turn of
    /// its own (greeting, reprompt).
    pub(super) fn history_agent(&mut self, text: String, cut: Option<BargeInRecord>) {
        let room = self.log.records.len() < MAX_TURNS;
        match self.log.records.last_mut() {
            Some(t) if t.agent.is_none() => {
                t.agent = Some(text);
                t.interrupted = cut.is_some();
                t.barge_in = cut;
            }
            _ if room => self.log.records.push(TurnRecord {
                caller: None,
                agent: Some(text),
                interrupted: cut.is_some(),
                barge_in: cut,
                latency: TurnLatency::default(),
            }),
            _ => {}
        }
    }

    /// The figures of the turn now ending, when it has them: what
    /// [`Self::close_turn_marks`] records (and `call.ended` lists), so the
    /// reply's own event can carry the same entry.
    pub(super) fn turn_figures(&self) -> Option<TurnLatency> {
        let marks = &self.log.marks;
        (marks.request.is_some() && marks.first_play.is_some()).then(|| marks.figures())
    }

    /// Records the turn's latency figures once it produced audio.
    pub(super) fn close_turn_marks(&mut self) {
        let figures = self.turn_figures();
        let marks = std::mem::take(&mut self.log.marks);
        if let Some(figures) = figures {
            self.log.latencies.push(figures);
            if let Some(t) = self.log.records.last_mut() {
                t.latency = figures;
            }
            self.log.closed.push_back((self.call.turns(), marks));
        }
    }

    /// The marks of the oldest turn closed and not yet taken, with its
    /// caller turn number (for the call's trace).
    pub(in crate::application::session) fn poll_turn_marks(
        &mut self,
    ) -> Option<(u32, crate::application::session::latency::Marks)> {
        self.log.closed.pop_front()
    }

    /// Submits the record of the ended call.
    pub(super) fn write_history(&mut self, reason: &EndReason) {
        let record = CallRecord {
            call_id: self.who.call_id.clone(),
            tenant: self.who.tenant.clone(),
            direction: self.call.direction(),
            from: Some(self.who.inbound.caller_number.clone()).filter(|n| !n.is_empty()),
            to: Some(self.who.inbound.did.to_string()),
            started_at: self.call.started_at(),
            answered_at: self.call.answered_at(),
            ended_at: self.call.ended_at().unwrap_or(self.now.wall),
            reason: reason.clone(),
            turns: std::mem::take(&mut self.log.records),
        };
        self.emit(Effect::WriteHistory(record));
    }
}
