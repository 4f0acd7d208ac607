//! The call's history record: what was said each turn and how long it took,
//! written once through the `CallHistory` port when the call ends.

use super::{TurnLatency, effects::Effect, run::Session};
use crate::application::ports::history::{CallRecord, TurnRecord};
use crate::domain::call::EndReason;
use std::time::SystemTime;

/// A call that talks for hours must not grow its record without end; past
/// this many turns the rest are left out of the history (events keep them).
const MAX_TURNS: usize = 1000;

impl Session {
    /// The caller finished a turn of speech.
    pub(super) fn history_caller(&mut self, text: String) {
        self.keys.end_run();
        if self.turn_records.len() < MAX_TURNS {
            self.turn_records.push(TurnRecord {
                caller: Some(text),
                agent: None,
                interrupted: false,
                latency: TurnLatency::default(),
            });
        }
    }

    /// Whether the caller's keys are secure now: the route says so, or the
    /// orchestrator asked for secure input.
    pub(super) fn keys_secure(&self) -> bool {
        self.keys.secure_requested() || self.route.as_ref().is_some_and(|r| r.secure_dtmf)
    }

    /// The caller pressed `key`: keys in a row are one entry (see [`super::keys`]).
    pub(super) fn history_key(&mut self, key: char, secure: bool) {
        let next = self.turn_records.len();
        let (record, new, text) = self.keys.press(key, secure, next);
        if new {
            if next >= MAX_TURNS {
                self.keys.end_run();
                return;
            }
            self.turn_records.push(TurnRecord {
                caller: None,
                agent: None,
                interrupted: false,
                latency: TurnLatency::default(),
            });
        }
        self.turn_records[record].caller = Some(text);
    }

    /// The agent spoke `text` (all of it, or what was heard before a barge-in):
    /// the answer to the caller's last turn, or a turn of its own (greeting, reprompt).
    pub(super) fn history_agent(&mut self, text: String, interrupted: bool) {
        let room = self.turn_records.len() < MAX_TURNS;
        match self.turn_records.last_mut() {
            Some(t) if t.agent.is_none() => {
                t.agent = Some(text);
                t.interrupted = interrupted;
            }
            _ if room => self.turn_records.push(TurnRecord {
                caller: None,
                agent: Some(text),
                interrupted,
                latency: TurnLatency::default(),
            }),
            _ => {}
        }
    }

    /// The figures of the turn that just produced audio.
    pub(super) fn history_latency(&mut self, latency: TurnLatency) {
        if let Some(t) = self.turn_records.last_mut() {
            t.latency = latency;
        }
    }

    /// Submits the record of the ended call, written after the writes before it.
    pub(super) fn write_history(&mut self, reason: &EndReason) {
        let record = CallRecord {
            call_id: self.call_id.clone(),
            tenant: self.tenant.clone(),
            direction: self.call.direction(),
            from: Some(self.inbound.caller_number.clone()).filter(|n| !n.is_empty()),
            to: Some(self.inbound.did.to_string()),
            started_at: self.call.started_at(),
            answered_at: self.call.answered_at(),
            ended_at: self.call.ended_at().unwrap_or_else(SystemTime::now),
            reason: reason.clone(),
            turns: std::mem::take(&mut self.turn_records),
        };
        self.effects.submit(Effect::WriteHistory(record));
    }
}
