//! One call as the console shows it, folded from the call's events: the row
//! of the live table and the call page's turns, barge-ins, keys, transfers
//! and end. Texts arrive masked (the events mask them); numbers are masked
//! here the way the logs mask them.

use crate::domain::{CallId, Redacted, TenantId, events::EventType};
use serde::Serialize;
use serde_json::Value;
use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch (what the page's `Date` takes).
pub(super) fn epoch_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A row of the live table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallRow {
    /// Id.
    pub call_id: CallId,
    /// Owner.
    pub tenant_id: TenantId,
    /// `inbound` or `outbound`.
    pub direction: String,
    /// Calling number, masked.
    pub from: Option<String>,
    /// Called number or DID, masked.
    pub to: Option<String>,
    /// `ringing | active | transferring | ended`.
    pub state: String,
    /// The agent, once known.
    pub agent_id: Option<String>,
    /// When the call started (ms since the epoch).
    pub started_at: u64,
    /// When answered.
    pub answered_at: Option<u64>,
    /// When it ended.
    pub ended_at: Option<u64>,
    /// Caller turns so far.
    pub turn: u32,
    /// `rtp`, `audiosocket` or `websocket`, once answered.
    pub transport: Option<String>,
    /// Speech-to-text providers, primary first (known once the call reports them).
    pub stt_providers: Vec<String>,
    /// Text-to-speech providers.
    pub tts_providers: Vec<String>,
    /// Why it ended.
    pub end_reason: Option<String>,
}

/// A barge-in: the caller cut the agent short.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BargeInView {
    /// What the caller heard, masked.
    pub heard_text: String,
    /// Audio played before the cut.
    pub heard_ms: u64,
    /// Onset of the caller's speech → last packet out.
    pub delay_ms: Option<f64>,
}

/// One exchange: what the caller said and what the agent answered. The
/// greeting (and any reprompt) is an exchange with no caller text.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Exchange {
    /// The caller's turn number (absent for the agent's own turns).
    pub turn: Option<u32>,
    /// What the caller said, masked.
    pub caller: Option<String>,
    /// What the agent said, masked.
    pub agent: Option<String>,
    /// Request → first token, as `agent.responded` reported it.
    pub agent_ms: Option<f64>,
    /// The agent's reply played audio (its figures are in `call.ended`).
    pub spoke: bool,
    /// The caller interrupted this reply.
    pub barge_in: Option<BargeInView>,
    /// The reply's stage figures, as its `tts.generated` or `call.bargein`
    /// carried them (the same entry `call.ended` lists).
    pub latency: Option<Value>,
}

/// Something else that happened: keys, transfers, errors.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Note {
    /// When (ms since the epoch).
    pub at: u64,
    /// The event type.
    pub kind: String,
    /// What to show.
    pub text: String,
}

/// Where a call page comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// This instance's view of the call's events (live or recently ended).
    Events,
    /// The call history's stored record.
    History,
}

/// Everything the console knows of one call.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallDetail {
    /// The table row.
    #[serde(flatten)]
    pub row: CallRow,
    /// The exchanges in order.
    pub exchanges: Vec<Exchange>,
    /// Keys, transfers, errors, in order.
    pub notes: Vec<Note>,
    /// `call.ended`'s per-reply figures as it reported them.
    pub latency: Vec<Value>,
    /// `call.ended`'s duration.
    pub duration_ms: Option<u64>,
    /// Whether the page was folded from events or read from the history.
    pub source: Source,
    /// What the source does not hold (a stored record has no transport,
    /// providers or notes, for example): the page says "not recorded".
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_recorded: Vec<&'static str>,
    /// Replies whose figures are in the latency window already (charted as
    /// they played, before the call's end).
    #[serde(skip)]
    pub(super) charted: usize,
}

/// A call page keeps at most this many exchanges and notes (the events keep all).
const MAX_ITEMS: usize = 500;

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

pub(super) fn figures(v: &Value) -> Option<Value> {
    v.get("latency").filter(|l| l.is_object()).cloned()
}

fn masked(v: &Value, key: &str) -> Option<String> {
    let n = v.get(key)?.as_str().filter(|s| !s.is_empty())?;
    Some(Redacted::of(n).to_string())
}

impl CallDetail {
    /// A call the console learns of by any event (normally `call.started`).
    pub(super) fn new(call_id: CallId, tenant_id: TenantId, at: SystemTime, data: &Value) -> Self {
        let row = CallRow {
            call_id,
            tenant_id,
            direction: text(data, "direction").unwrap_or_else(|| "inbound".into()),
            from: None,
            to: None,
            state: "ringing".into(),
            agent_id: None,
            started_at: epoch_ms(at),
            answered_at: None,
            ended_at: None,
            turn: 0,
            transport: None,
            stt_providers: Vec::new(),
            tts_providers: Vec::new(),
            end_reason: None,
        };
        Self {
            row,
            exchanges: Vec::new(),
            notes: Vec::new(),
            latency: Vec::new(),
            duration_ms: None,
            source: Source::Events,
            not_recorded: Vec::new(),
            charted: 0,
        }
    }

    /// Folds one event of this call in.
    pub(super) fn apply(&mut self, kind: EventType, at: SystemTime, d: &Value) {
        if let Some(a) = text(d, "agent_id") {
            self.row.agent_id = Some(a);
        }
        match kind {
            EventType::CallStarted => self.started(d),
            EventType::CallAnswered => {
                self.row.state = "active".into();
                self.row.answered_at = Some(epoch_ms(at));
                self.row.transport = text(d, "transport");
                self.providers(d);
            }
            EventType::SttTranscribed => self.transcribed(d),
            EventType::AgentResponded => self.responded(d),
            EventType::TtsGenerated => self.generated(d),
            EventType::CallBargein => self.barge_in(d),
            EventType::CallEnded => self.ended(at, d),
            EventType::CallEscalated => {
                if d.get("status").and_then(Value::as_str) == Some("started") {
                    self.row.state = "transferring".into();
                } else {
                    self.row.state = "active".into();
                }
                self.note(at, kind, d);
            }
            _ => self.note(at, kind, d),
        }
    }

    fn started(&mut self, d: &Value) {
        if d.get("did").is_some() {
            self.row.from = masked(d, "caller_number");
            self.row.to = masked(d, "did");
        } else {
            self.row.from = masked(d, "from");
            self.row.to = masked(d, "to");
            self.row.state = "originating".into();
        }
    }

    /// The providers an event names (`call.answered`, `call.ended`); an
    /// event that names none leaves them.
    fn providers(&mut self, d: &Value) {
        let list = |k: &str| -> Option<Vec<String>> {
            d.get(k).and_then(Value::as_array).map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
        };
        if let Some(stt) = list("stt_providers") {
            self.row.stt_providers = stt;
        }
        if let Some(tts) = list("tts_providers") {
            self.row.tts_providers = tts;
        }
    }

    fn push(&mut self, e: Exchange) {
        if self.exchanges.len() < MAX_ITEMS {
            self.exchanges.push(e);
        }
    }

    fn transcribed(&mut self, d: &Value) {
        let turn = d.get("turn").and_then(Value::as_u64).map(|t| t as u32);
        self.row.turn = turn.unwrap_or(self.row.turn + 1);
        self.push(Exchange {
            turn,
            caller: text(d, "text"),
            ..Exchange::default()
        });
    }

    /// The exchange an agent's words belong to: the last one while it has
    /// no reply yet, else a new one of the agent's own.
    fn reply_slot(&mut self) -> Option<&mut Exchange> {
        let open = self
            .exchanges
            .last()
            .is_some_and(|e| e.agent.is_none() && !e.spoke);
        if !open {
            self.push(Exchange::default());
        }
        self.exchanges.last_mut()
    }

    fn responded(&mut self, d: &Value) {
        let agent_ms = d.get("latency_ms").and_then(Value::as_f64);
        if let Some(e) = self.reply_slot() {
            e.agent = text(d, "text").filter(|t| !t.is_empty());
            e.agent_ms = agent_ms;
        }
    }

    /// The reply was spoken in full: its whole text replaces the first sentence.
    fn generated(&mut self, d: &Value) {
        let spoken = d.get("audio_ms").and_then(Value::as_u64).unwrap_or(0) > 0;
        let full = text(d, "text");
        let slot = match self.exchanges.last_mut() {
            Some(e) if !e.spoke => Some(e),
            _ => self.reply_slot(),
        };
        if let Some(e) = slot {
            e.agent = full.or(e.agent.take());
            e.spoke = spoken;
            e.latency = figures(d);
        }
    }

    fn barge_in(&mut self, d: &Value) {
        let view = BargeInView {
            heard_text: text(d, "heard_text").unwrap_or_default(),
            heard_ms: d.get("heard_ms").and_then(Value::as_u64).unwrap_or(0),
            delay_ms: d.get("delay_ms").and_then(Value::as_f64),
        };
        let slot = match self.exchanges.last_mut() {
            Some(e) if !e.spoke => Some(e),
            _ => self.reply_slot(),
        };
        if let Some(e) = slot {
            e.spoke = true;
            e.barge_in = Some(view);
            e.latency = figures(d);
        }
    }

    fn ended(&mut self, at: SystemTime, d: &Value) {
        self.row.state = "ended".into();
        self.row.ended_at = Some(epoch_ms(at));
        self.row.end_reason = text(d, "reason");
        self.duration_ms = d.get("duration_ms").and_then(Value::as_u64);
        self.providers(d);
        self.latency = d
            .get("latency")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        // A reply the end cut short has an entry in `call.ended` but no
        // event of its own: the entries past those already shown are its.
        let shown = self
            .exchanges
            .iter()
            .filter(|e| e.latency.is_some())
            .count();
        let extras: Vec<Value> = self.latency.iter().skip(shown).cloned().collect();
        for extra in extras {
            match self.exchanges.last_mut() {
                Some(e) if e.latency.is_none() => e.latency = Some(extra),
                _ => self.push(Exchange {
                    latency: Some(extra),
                    ..Exchange::default()
                }),
            }
        }
    }

    fn note(&mut self, at: SystemTime, kind: EventType, d: &Value) {
        if self.notes.len() >= MAX_ITEMS {
            return;
        }
        let text = match kind {
            // The digit is there only when the operator lets digits into events.
            EventType::CallDtmf => match d.get("digit").and_then(Value::as_str) {
                Some(_) => "key pressed: •".to_owned(),
                None => "key pressed (masked)".to_owned(),
            },
            EventType::CallTransferred | EventType::CallEscalated => format!(
                "{} transfer to {}{}",
                text(d, "mode").unwrap_or_default(),
                masked(d, "target").unwrap_or_else(|| "?".into()),
                text(d, "status")
                    .map(|s| format!(": {s}"))
                    .unwrap_or_default()
            ),
            _ => text(d, "error").unwrap_or_default(),
        };
        if kind == EventType::CallTransferred {
            self.row.state = "transferred".into();
        }
        self.notes.push(Note {
            at: epoch_ms(at),
            kind: kind.to_string(),
            text,
        });
    }
}
