//! A call page from the call history: an ended call this instance no longer
//! holds (it ended before a restart, on another instance, or fell out of the
//! ring of [`super::ENDED_KEPT`]) is rebuilt from its stored record, as far
//! as the record holds it; what it does not hold is named in `not_recorded`.

use super::{
    BargeInView, CallDetail, CallRow, Exchange,
    call::{Source, epoch_ms},
};
use crate::{
    application::ports::history::{CallRecord, TurnRecord},
    domain::{Redacted, call::Direction, events::TurnLatency},
};
use serde_json::Value;

/// What a stored record never holds: the page says so instead of showing
/// an empty value as if it were known.
const NEVER_RECORDED: [&str; 3] = ["agent_id", "transport_and_providers", "notes"];
/// The caller's keys as the page shows them: the events and the logs never
/// show a key, the record keeps its last four.
const KEYS: &str = "[keys pressed, masked]";

/// Whether the entry is a run of keys rather than speech.
fn is_keys(t: &TurnRecord) -> bool {
    t.caller.as_deref().is_some_and(|c| c.starts_with("[DTMF"))
}

/// Whether the entry holds a caller's spoken turn: its words, or (when the
/// tenant keeps no transcripts) a reply timed from the caller's speech.
fn is_speech(t: &TurnRecord) -> bool {
    match &t.caller {
        Some(_) => !is_keys(t),
        None => t.latency.stt_ms.is_some(),
    }
}

fn figures(l: &TurnLatency) -> Option<Value> {
    (*l != TurnLatency::default()).then(|| serde_json::to_value(l).unwrap_or_default())
}

impl CallDetail {
    /// The page of an ended call from its stored record.
    pub fn from_record(r: &CallRecord) -> Self {
        let mut turn = 0;
        let exchanges: Vec<Exchange> = r.turns.iter().map(|t| exchange(t, &mut turn)).collect();
        let since = r.answered_at.unwrap_or(r.started_at);
        let duration = r.ended_at.duration_since(since).unwrap_or_default();
        let mut not_recorded = NEVER_RECORDED.to_vec();
        if r.turns
            .iter()
            .all(|t| t.caller.is_none() && t.agent.is_none())
            && !r.turns.is_empty()
        {
            not_recorded.push("transcripts");
        }
        if r.turns
            .iter()
            .any(|t| t.interrupted && t.barge_in.is_none())
        {
            not_recorded.push("barge_in_figures");
        }
        Self {
            row: row(r, turn),
            latency: exchanges.iter().filter_map(|e| e.latency.clone()).collect(),
            exchanges,
            notes: Vec::new(),
            duration_ms: Some(duration.as_millis() as u64),
            source: Source::History,
            not_recorded,
            charted: 0,
        }
    }
}

fn row(r: &CallRecord, turns: u32) -> CallRow {
    let masked = |n: &Option<String>| {
        n.as_deref()
            .filter(|n| !n.is_empty())
            .map(|n| Redacted::of(n).to_string())
    };
    CallRow {
        call_id: r.call_id.clone(),
        tenant_id: r.tenant.clone(),
        direction: match r.direction {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        }
        .into(),
        from: masked(&r.from),
        to: masked(&r.to),
        state: "ended".into(),
        agent_id: None,
        started_at: epoch_ms(r.started_at),
        answered_at: r.answered_at.map(epoch_ms),
        ended_at: Some(epoch_ms(r.ended_at)),
        turn: turns,
        transport: None,
        stt_providers: Vec::new(),
        tts_providers: Vec::new(),
        end_reason: Some(r.outcome()),
    }
}

/// One stored entry as an exchange; `turn` counts the caller's spoken turns.
fn exchange(t: &TurnRecord, turn: &mut u32) -> Exchange {
    let speech = is_speech(t);
    if speech {
        *turn += 1;
    }
    let caller = if is_keys(t) {
        Some(KEYS.to_owned())
    } else if speech {
        // No text kept: the page says "no transcript kept".
        Some(t.caller.clone().unwrap_or_default())
    } else {
        None
    };
    let barge_in = t.interrupted.then(|| BargeInView {
        heard_text: t.agent.clone().unwrap_or_default(),
        heard_ms: t.barge_in.map_or(0, |b| b.heard_ms),
        delay_ms: t.barge_in.and_then(|b| b.delay_ms),
    });
    let latency = figures(&t.latency);
    Exchange {
        turn: speech.then_some(*turn),
        caller,
        agent: t.agent.clone(),
        agent_ms: t.latency.agent_ms,
        spoke: latency.is_some() || t.interrupted,
        barge_in,
        latency,
    }
}
