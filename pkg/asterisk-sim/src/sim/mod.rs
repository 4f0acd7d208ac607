//! The simulated Asterisk core: one lock-protected [`State`] plus timers.
//!
//! Every REST call and scenario step takes the lock, changes state and queues the resulting
//! events on the owning app's socket before releasing it, so per-socket event order is the
//! order of state changes. Events are queued before the HTTP response is written, which gives
//! the real "event before response" race for free. The lock is never held across an await.

pub(crate) mod apps;
pub(crate) mod bridges;
pub(crate) mod channels;
pub(crate) mod error;
pub(crate) mod external_media;
pub(crate) mod faults;
pub(crate) mod inbound;
pub(crate) mod model;
pub(crate) mod originate;
pub(crate) mod playback;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{Map, Value, json};
use tokio::sync::Notify;

use crate::config::SimConfig;
use crate::handle::{OriginateRecord, SimCallId};
use crate::media::MediaEngine;
use crate::util::timestamp;
use model::{App, Bridge, Channel, Playback, WsOut};

/// What the simulator knows about one simulated far party (inbound caller or dialed callee).
#[derive(Clone, Debug)]
pub(crate) struct CallInfo {
    /// The channel the app sees for this party (Stasis channel of the call).
    pub(crate) channel: String,
    /// Media channels (externalMedia) that were ever bridged with it: what the caller heard.
    pub(crate) media_channels: Vec<String>,
    pub(crate) ended: bool,
}

/// All mutable simulator state.
pub(crate) struct State {
    /// Bumped by a restart: timers from before it must do nothing.
    pub(crate) epoch: u64,
    pub(crate) chan_seq: u64,
    pub(crate) name_seq: u32,
    pub(crate) next_conn: u64,
    pub(crate) next_call: u64,
    pub(crate) asterisk_id: String,
    pub(crate) channels: HashMap<String, Channel>,
    pub(crate) bridges: HashMap<String, Bridge>,
    pub(crate) playbacks: HashMap<String, Playback>,
    pub(crate) apps: HashMap<String, App>,
    pub(crate) calls: HashMap<SimCallId, CallInfo>,
    pub(crate) originates: Vec<OriginateRecord>,
    /// Until this instant REST answers 503 "Asterisk not booted" (after a restart).
    pub(crate) booting_until: Option<tokio::time::Instant>,
    pub(crate) events_sent: u64,
    /// Originate outcomes per dialed number (config defaults, changeable at run time).
    pub(crate) outcomes: HashMap<String, crate::config::Outcome>,
    /// Dialplan globals (`GET /asterisk/variable`).
    pub(crate) globals: HashMap<String, String>,
}

impl State {
    fn new(asterisk_id: String, outcomes: HashMap<String, crate::config::Outcome>) -> Self {
        Self {
            epoch: 0,
            chan_seq: 1,
            name_seq: 1,
            next_conn: 1,
            next_call: 1,
            asterisk_id,
            channels: HashMap::new(),
            bridges: HashMap::new(),
            playbacks: HashMap::new(),
            apps: HashMap::new(),
            calls: HashMap::new(),
            originates: Vec::new(),
            booting_until: None,
            events_sent: 0,
            outcomes,
            globals: HashMap::new(),
        }
    }

    /// A fresh Asterisk-style unique id: `<unix secs>.<counter>`.
    pub(crate) fn new_channel_id(&mut self) -> String {
        let id = format!("{}.{}", crate::util::unix_secs(), self.chan_seq);
        self.chan_seq += 1;
        id
    }

    /// The 8-hex-digit sequence in Local channel names (`-0000002a;1`).
    pub(crate) fn next_name_seq(&mut self) -> String {
        let s = format!("{:08x}", self.name_seq);
        self.name_seq += 1;
        s
    }

    /// Sends `ev` (without `application`/`asterisk_id`) to `app`'s active socket. Events for
    /// an app without an active socket are lost, as in Asterisk ("missed message").
    pub(crate) fn send_to_app(&mut self, app: &str, mut ev: Map<String, Value>) {
        ev.insert("asterisk_id".into(), json!(self.asterisk_id));
        ev.insert("application".into(), json!(app));
        let Some(a) = self.apps.get(app) else { return };
        let Some((_, tx)) = &a.active else { return };
        if tx.send(WsOut::Text(Value::Object(ev).to_string())).is_ok() {
            self.events_sent += 1;
        }
    }

    /// Emits a channel event to the channel's app (and copies to subscribeAll apps).
    pub(crate) fn chan_event(&mut self, id: &str, ty: &str, extra: Value) {
        let Some(ch) = self.channels.get(id) else {
            return;
        };
        let mut ev = Map::new();
        ev.insert("type".into(), json!(ty));
        ev.insert("timestamp".into(), json!(timestamp()));
        if let Value::Object(m) = extra {
            ev.extend(m);
        }
        // Dial carries the channel as `peer`.
        let key = if ty == "Dial" { "peer" } else { "channel" };
        ev.insert(key.into(), ch.json());
        let app = ch.app.clone();
        self.fan_out(app.as_deref(), ty, ev);
    }

    /// Delivers to the owning app, and to every subscribeAll app except Stasis start/end,
    /// which Asterisk never shows to another app (fixture 03).
    pub(crate) fn fan_out(&mut self, app: Option<&str>, ty: &str, ev: Map<String, Value>) {
        if ty != "StasisStart" && ty != "StasisEnd" {
            let all: Vec<String> = self
                .apps
                .iter()
                .filter(|(n, a)| a.subscribe_all && Some(n.as_str()) != app)
                .map(|(n, _)| n.clone())
                .collect();
            for n in all {
                self.send_to_app(&n, ev.clone());
            }
        }
        if let Some(app) = app {
            self.send_to_app(app, ev);
        }
    }

    pub(crate) fn varset(&mut self, id: &str, var: &str, value: &str) {
        if let Some(ch) = self.channels.get_mut(id) {
            ch.vars.insert(var.to_string(), value.to_string());
        }
        self.chan_event(
            id,
            "ChannelVarset",
            json!({"variable": var, "value": value}),
        );
    }

    pub(crate) fn set_state(&mut self, id: &str, state: &'static str) {
        if let Some(ch) = self.channels.get_mut(id) {
            if ch.state == state {
                return;
            }
            ch.state = state;
        }
        self.chan_event(id, "ChannelStateChange", json!({}));
    }
}

/// The shared simulator: configuration, state, media engine.
pub(crate) struct Sim {
    pub(crate) cfg: SimConfig,
    st: Mutex<State>,
    pub(crate) media: MediaEngine,
    pub(crate) faults: faults::Faults,
    /// Mirror of `State::epoch`, readable while the state lock is held (timers are armed
    /// from inside locked sections and must not lock again).
    pub(crate) epoch: std::sync::atomic::AtomicU64,
    /// Woken whenever a playback ends, for variable sets queued behind playbacks.
    pub(crate) playback_idle: Notify,
}

impl Sim {
    pub(crate) fn new(cfg: SimConfig) -> Arc<Self> {
        let base = tokio::time::Instant::now();
        let media = MediaEngine::new(&cfg, base);
        Arc::new(Self {
            st: Mutex::new(State::new(cfg.asterisk_id.clone(), cfg.outcomes.clone())),
            cfg,
            media,
            faults: faults::Faults::default(),
            playback_idle: Notify::new(),
            epoch: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// Locks the state; a panic in another holder must not wedge the whole simulator.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.st.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` after `delay` unless the simulator restarted in between.
    pub(crate) fn after<F>(self: &Arc<Self>, delay: Duration, f: F)
    where
        F: FnOnce(&Arc<Sim>, &mut State) + Send + 'static,
    {
        let sim = Arc::clone(self);
        let epoch = sim.epoch.load(std::sync::atomic::Ordering::SeqCst);
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let mut st = sim.lock();
            if st.epoch == epoch {
                f(&sim, &mut st);
            }
        });
    }
}

/// Q.850 cause texts as Asterisk prints them in `cause_txt`.
pub(crate) fn cause_txt(cause: u16) -> &'static str {
    match cause {
        1 => "Unallocated (unassigned) number",
        16 => "Normal Clearing",
        17 => "User busy",
        18 => "No user responding",
        19 => "User alerting, no answer",
        21 => "Call Rejected",
        27 => "Destination out of order",
        28 => "Invalid number format (addressing incomplete)",
        31 => "Normal, unspecified",
        34 => "Circuit/channel congestion",
        38 => "Network out of order",
        41 => "Temporary failure",
        58 => "Bearer capability not available",
        127 => "Interworking, unspecified",
        _ => "Unknown",
    }
}
