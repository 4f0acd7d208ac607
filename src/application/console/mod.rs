//! What the operator console shows: the live calls, each call's turns and
//! figures, and per-tenant latency percentiles. Fed from the gateway's own
//! call events (see [`ConsoleTap`]), once per event, never per packet; every
//! live change goes out on a broadcast channel the console's event stream
//! forwards.
//!
//! Bounded: live calls are as many as the gateway holds; ended calls are kept
//! for their page up to [`ENDED_KEPT`]; the latency window is bounded in age
//! and count ([`window`]). The window takes each reply's figures when its
//! `tts.generated` or `call.bargein` reports them (and, at `call.ended`,
//! those of replies the end cut short), so the charts move while calls last.

mod call;
mod recorded;
mod tap;
pub mod window;

pub use call::{BargeInView, CallDetail, CallRow, Exchange, Note, Source};
pub use tap::ConsoleTap;
pub use window::{LatencyWindow, TenantLatency};

use crate::{
    application::ports::events::CallEvent,
    domain::{CallId, TenantId, events::EventType, events::TurnLatency},
};
use serde_json::Value;
use std::{
    collections::{HashMap, VecDeque},
    sync::Mutex,
    time::SystemTime,
};
use tokio::sync::broadcast;

/// Ended calls whose page stays available (newest kept).
pub const ENDED_KEPT: usize = 500;
/// Updates a slow console may fall behind by before it is told to reload.
const UPDATES_BUFFERED: usize = 1024;

/// Who may see what: one tenant, or every tenant (`console:read`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visibility {
    /// Every tenant's calls.
    All,
    /// Only this tenant's.
    Tenant(TenantId),
}

impl Visibility {
    /// Whether a call of `tenant` may be shown.
    pub fn sees(&self, tenant: &TenantId) -> bool {
        match self {
            Self::All => true,
            Self::Tenant(t) => t == tenant,
        }
    }
}

#[derive(Debug, Default)]
struct State {
    live: HashMap<CallId, CallDetail>,
    ended: VecDeque<CallDetail>,
    window: LatencyWindow,
}

/// The console's view of the gateway's calls.
#[derive(Debug)]
pub struct ConsoleHub {
    state: Mutex<State>,
    updates: broadcast::Sender<CallRow>,
}

impl Default for ConsoleHub {
    fn default() -> Self {
        Self {
            state: Mutex::default(),
            updates: broadcast::channel(UPDATES_BUFFERED).0,
        }
    }
}

fn figure(v: &Value, k: &str) -> Option<f64> {
    v.get(k).and_then(Value::as_f64)
}

/// `call.ended`'s per-turn figures as the window keeps them.
fn turn_figures(latency: &[Value]) -> Vec<TurnLatency> {
    latency
        .iter()
        .map(|v| TurnLatency {
            stt_ms: figure(v, "stt_ms"),
            agent_ms: figure(v, "agent_ms"),
            tts_ms: figure(v, "tts_ms"),
            media_ms: figure(v, "media_ms"),
            total_ms: figure(v, "total_ms"),
        })
        .collect()
}

impl ConsoleHub {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("console lock poisoned")
    }

    /// Folds one published event in and tells the live consoles.
    pub fn observe(&self, event: &CallEvent) {
        let row = {
            let mut guard = self.lock();
            let s = &mut *guard;
            if !s.live.contains_key(&event.call_id)
                && let Some(done) = s.ended.iter_mut().find(|d| d.row.call_id == event.call_id)
            {
                // A late event of an ended call: kept, never a live row again.
                done.apply(event.event_type, event.time, &event.data);
                return;
            }
            Self::fold(s, event)
        };
        // No console listening is not an error.
        let _ = self.updates.send(row);
    }

    fn fold(s: &mut State, event: &CallEvent) -> CallRow {
        let detail = s.live.entry(event.call_id.clone()).or_insert_with(|| {
            CallDetail::new(
                event.call_id.clone(),
                event.tenant_id.clone(),
                event.time,
                &event.data,
            )
        });
        detail.apply(event.event_type, event.time, &event.data);
        let row = detail.row.clone();
        // A reply's figures count in the charts once it has played (or been
        // cut), not only once its call has ended.
        if matches!(
            event.event_type,
            EventType::TtsGenerated | EventType::CallBargein
        ) && let Some(played) = call::figures(&event.data)
        {
            detail.charted += 1;
            s.window
                .add(&event.tenant_id, event.time, &turn_figures(&[played]));
        }
        if event.event_type == EventType::CallEnded
            && let Some(done) = s.live.remove(&event.call_id)
        {
            crate::application::maps::shrink_after_peak(&mut s.live);
            // Only the replies the end cut short are new to the charts.
            let rest = done.latency.get(done.charted..).unwrap_or_default();
            s.window
                .add(&event.tenant_id, event.time, &turn_figures(rest));
            if s.ended.len() == ENDED_KEPT {
                s.ended.pop_back();
            }
            s.ended.push_front(done);
        }
        row
    }

    /// The live calls `who` may see, oldest first.
    pub fn live(&self, who: &Visibility) -> Vec<CallRow> {
        let mut rows: Vec<CallRow> = self
            .lock()
            .live
            .values()
            .filter(|d| who.sees(&d.row.tenant_id))
            .map(|d| d.row.clone())
            .collect();
        rows.sort_by(|a, b| {
            (a.started_at, a.call_id.as_str()).cmp(&(b.started_at, b.call_id.as_str()))
        });
        rows
    }

    /// The most recently ended calls `who` may see, newest first.
    pub fn recent(&self, who: &Visibility, limit: usize) -> Vec<CallRow> {
        self.lock()
            .ended
            .iter()
            .filter(|d| who.sees(&d.row.tenant_id))
            .take(limit)
            .map(|d| d.row.clone())
            .collect()
    }

    /// One call, live or recently ended, if `who` may see it.
    pub fn call(&self, who: &Visibility, id: &CallId) -> Option<CallDetail> {
        let s = self.lock();
        let found = s
            .live
            .get(id)
            .or_else(|| s.ended.iter().find(|d| &d.row.call_id == id))?;
        who.sees(&found.row.tenant_id).then(|| found.clone())
    }

    /// p50/p90 per tenant and stage over the last `minutes`.
    pub fn latency(&self, who: &Visibility, now: SystemTime, minutes: u64) -> Vec<TenantLatency> {
        self.lock().window.summary(now, minutes, |t| who.sees(t))
    }

    /// Every change from now on (filter by tenant before showing it).
    pub fn subscribe(&self) -> broadcast::Receiver<CallRow> {
        self.updates.subscribe()
    }
}

#[cfg(test)]
mod tests;
