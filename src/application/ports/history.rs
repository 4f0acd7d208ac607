//! The call history port: one record per ended call, kept after the live
//! state is gone.

use super::orchestrator::BoxFuture;
use crate::{
    application::session::{TurnLatency, reason_label},
    domain::{CallId, TenantId, call::Direction, call::EndReason, pii},
};
use serde::{Deserialize, Serialize};
use std::{sync::Mutex, time::SystemTime};

/// A barge-in's figures, kept with the turn it cut short.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BargeInRecord {
    /// Audio of the reply played before the cut.
    pub heard_ms: u64,
    /// Onset of the caller's speech → last packet out; `None` when the
    /// media leg could not say.
    pub delay_ms: Option<f64>,
}

/// One conversational turn as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TurnRecord {
    /// What the caller said (STT final); `None` when transcripts are not stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caller: Option<String>,
    /// What the agent answered; `None` when transcripts are not stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// The caller barged in during the reply.
    pub interrupted: bool,
    /// The barge-in's figures (records written before they were kept have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub barge_in: Option<BargeInRecord>,
    /// Where the turn's time went.
    #[serde(default)]
    pub latency: TurnLatency,
}

/// A finished call.
#[derive(Debug, Clone, PartialEq)]
pub struct CallRecord {
    /// The gateway's call id; writing the same id twice keeps the first record.
    pub call_id: CallId,
    /// The tenant the call belonged to.
    pub tenant: TenantId,
    /// Inbound or outbound.
    pub direction: Direction,
    /// The calling number as received (E.164 or an extension), if known.
    pub from: Option<String>,
    /// The called number or DID, if known.
    pub to: Option<String>,
    /// When the gateway learnt of the call.
    pub started_at: SystemTime,
    /// When it was answered; `None` if never.
    pub answered_at: Option<SystemTime>,
    /// When it ended.
    pub ended_at: SystemTime,
    /// Why it ended; stored as the outcome label (`caller_hangup`, `error`…) and the full reason.
    pub reason: EndReason,
    /// The turns, in order.
    pub turns: Vec<TurnRecord>,
}

impl CallRecord {
    /// The outcome label, as metrics and `call.ended` use it.
    pub fn outcome(&self) -> String {
        reason_label(&self.reason)
    }

    /// The record as it may be stored: card numbers and similar masked in
    /// every transcript and in the reason text.
    pub fn masked(mut self) -> Self {
        // The caller's turns together: a card read over two turns is one
        // number, masked in both.
        let said: Vec<&str> = self
            .turns
            .iter()
            .filter_map(|t| t.caller.as_deref())
            .collect();
        let mut masked = pii::mask_turns(&said).into_iter();
        for t in &mut self.turns {
            if t.caller.is_some() {
                t.caller = masked.next();
            }
            t.agent = t.agent.as_deref().map(pii::mask);
        }
        if let EndReason::Error(e) = &self.reason {
            self.reason = EndReason::Error(pii::mask(e));
        }
        self
    }

    /// The turns without their text, for tenants that do not store transcripts.
    pub fn without_transcripts(mut self) -> Self {
        for t in &mut self.turns {
            t.caller = None;
            t.agent = None;
        }
        self
    }
}

/// Why a record could not be written or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HistoryError {
    /// The backing store is unreachable or refused the write.
    #[error("call history unavailable: {0}")]
    Unavailable(#[source] super::Cause),
    /// A stored record could not be read back (a column or turn the
    /// gateway does not understand).
    #[error("call record unreadable: {0}")]
    Corrupt(String),
}

/// Stores finished calls and reads them back.
pub trait CallHistory: Send + Sync {
    /// Stores the record; idempotent on the call id.
    fn record(&self, record: CallRecord) -> BoxFuture<'_, Result<(), HistoryError>>;
    /// The record of call `id`, as stored (masked; without transcripts for
    /// tenants that keep none), whatever its tenant: the caller checks that
    /// the asker may see [`CallRecord::tenant`]. `None`: no such record
    /// (never written, not yet written, or no history kept).
    fn find<'a>(
        &'a self,
        id: &'a CallId,
    ) -> BoxFuture<'a, Result<Option<CallRecord>, HistoryError>>;
}

/// No history configured: records are dropped.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHistory;

impl CallHistory for NoHistory {
    fn record(&self, _record: CallRecord) -> BoxFuture<'_, Result<(), HistoryError>> {
        Box::pin(async { Ok(()) })
    }

    fn find<'a>(
        &'a self,
        _id: &'a CallId,
    ) -> BoxFuture<'a, Result<Option<CallRecord>, HistoryError>> {
        Box::pin(async { Ok(None) })
    }
}

/// Keeps records in memory, masked as a real store would; for tests and embedding.
#[derive(Debug, Default)]
pub struct MemoryHistory {
    records: Mutex<Vec<CallRecord>>,
}

impl MemoryHistory {
    /// Every record written so far, in order.
    pub fn records(&self) -> Vec<CallRecord> {
        self.records.lock().expect("history lock poisoned").clone()
    }
}

impl CallHistory for MemoryHistory {
    fn record(&self, record: CallRecord) -> BoxFuture<'_, Result<(), HistoryError>> {
        let mut records = self.records.lock().expect("history lock poisoned");
        if !records.iter().any(|r| r.call_id == record.call_id) {
            records.push(record.masked());
        }
        Box::pin(async { Ok(()) })
    }

    fn find<'a>(
        &'a self,
        id: &'a CallId,
    ) -> BoxFuture<'a, Result<Option<CallRecord>, HistoryError>> {
        let found = self
            .records
            .lock()
            .expect("history lock poisoned")
            .iter()
            .find(|r| &r.call_id == id)
            .cloned();
        Box::pin(async { Ok(found) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str) -> CallRecord {
        CallRecord {
            call_id: CallId::parse(id).unwrap(),
            tenant: TenantId::parse("t").unwrap(),
            direction: Direction::Inbound,
            from: Some("+15551230000".into()),
            to: Some("+15559870000".into()),
            started_at: SystemTime::UNIX_EPOCH,
            answered_at: None,
            ended_at: SystemTime::UNIX_EPOCH,
            reason: EndReason::Error("card 4111 1111 1111 1111 declined".into()),
            turns: vec![TurnRecord {
                caller: Some("it is 4111111111111111".into()),
                agent: Some("thanks".into()),
                interrupted: false,
                barge_in: None,
                latency: TurnLatency::default(),
            }],
        }
    }

    #[tokio::test]
    async fn memory_history_masks_and_keeps_the_first_record_per_call() {
        let h = MemoryHistory::default();
        h.record(record("c1")).await.unwrap();
        h.record(record("c1")).await.unwrap();
        let got = h.records();
        assert_eq!(got.len(), 1);
        assert_eq!(
            got[0].turns[0].caller.as_deref(),
            Some("it is ************1111")
        );
        assert_eq!(got[0].outcome(), "error");
        assert_eq!(
            got[0].reason.to_string(),
            "error: card **** **** **** 1111 declined"
        );
        let found = h.find(&CallId::parse("c1").unwrap()).await.unwrap();
        assert_eq!(found.as_ref(), Some(&got[0]), "read back as stored");
        assert_eq!(h.find(&CallId::parse("c9").unwrap()).await.unwrap(), None);
    }

    #[test]
    fn a_card_read_over_two_turns_is_masked_in_both_records() {
        let mut r = record("c3");
        let turn = |caller: Option<&str>| TurnRecord {
            caller: caller.map(Into::into),
            agent: Some("go on".into()),
            interrupted: false,
            barge_in: None,
            latency: TurnLatency::default(),
        };
        r.turns = vec![
            turn(Some("my card is 4111 1111")),
            turn(None),
            turn(Some("1111 1111")),
        ];
        let said: Vec<_> = r.masked().turns.into_iter().map(|t| t.caller).collect();
        assert_eq!(
            said,
            [
                Some("my card is **** ****".into()),
                None,
                Some("**** 1111".into())
            ]
        );
    }

    #[test]
    fn without_transcripts_keeps_latency() {
        let r = record("c2").without_transcripts();
        let json = serde_json::to_value(&r.turns).unwrap();
        assert_eq!(json[0].get("caller"), None);
        assert!(json[0]["latency"].is_object());
    }
}
