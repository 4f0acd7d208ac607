//! The test-facing API: start a simulator, drive scenarios, inject faults, read recordings.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;

mod load;
pub use load::{CallMedia, Pacing};

use crate::config::{Outcome, SimConfig};
use crate::media::record::{RxPacket, decode};
use crate::sim::Sim;
use crate::sim::faults::RestFault;

/// Identifies one simulated far party (an inbound caller or a dialed callee).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SimCallId(pub(crate) u64);

/// One originate the simulator received.
#[derive(Clone, Debug)]
pub struct OriginateRecord {
    /// The simulated callee.
    pub call: SimCallId,
    /// The channel id the app sees (the `;1` half for Local endpoints).
    pub channel_id: String,
    /// The `endpoint` parameter as sent.
    pub endpoint: String,
    /// The dialed number extracted from it.
    pub number: String,
    /// Target Stasis app.
    pub app: String,
    /// `appArgs`, comma-split.
    pub args: Vec<String>,
    /// `variables` from the JSON body.
    pub variables: Vec<(String, String)>,
}

/// Starts simulators.
pub struct Simulator;

impl Simulator {
    /// Binds 127.0.0.1:`cfg.port` and serves until the handle is dropped.
    pub async fn start(cfg: SimConfig) -> std::io::Result<SimHandle> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", cfg.port)).await?;
        let addr = listener.local_addr()?;
        let sim = Sim::new(cfg);
        let (tx, rx) = oneshot::channel::<()>();
        let app = crate::http::router(Arc::clone(&sim));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(SimHandle {
            sim,
            addr,
            shutdown: Some(tx),
        })
    }
}

/// A running simulator. Dropping it stops the server.
pub struct SimHandle {
    sim: Arc<Sim>,
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.sim.lock().abort_sockets(None);
        self.sim.media.close_all();
    }
}

impl SimHandle {
    /// `http://127.0.0.1:PORT` (ARI lives under `/ari`).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `ws://127.0.0.1:PORT/ari/events` (add `?app=…&api_key=user:pass`).
    pub fn ws_url(&self) -> String {
        format!("ws://{}/ari/events", self.addr)
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `(user, password)` the simulator accepts.
    pub fn credentials(&self) -> (String, String) {
        (self.sim.cfg.username.clone(), self.sim.cfg.password.clone())
    }

    /// An inbound call to `did` from `caller_id` (`"Name" <+1555…>` or a number), entering
    /// `Stasis(inbound_app, did)` like fixture 01.
    pub fn place_inbound_call(&self, did: &str, caller_id: &str) -> SimCallId {
        let app = self.sim.cfg.inbound_app.clone();
        self.sim.lock().place_inbound(&app, did, caller_id, false)
    }

    /// Like [`Self::place_inbound_call`] into a chosen app, as a Local (`sip = false`,
    /// fixture 01) or chan_sip (`sip = true`, fixture 13; hangs up with a BYE) channel.
    pub fn place_inbound_call_to(
        &self,
        app: &str,
        did: &str,
        caller_id: &str,
        sip: bool,
    ) -> SimCallId {
        self.sim.lock().place_inbound(app, did, caller_id, sip)
    }

    /// The party speaks (8 kHz PCM): RTP every 20 ms to the media channels in its bridge, and
    /// nothing once it is done (silence sends nothing). False if the call is gone.
    pub fn caller_say(&self, call: SimCallId, pcm_8k: &[i16]) -> bool {
        self.sim.caller_say(call, pcm_8k)
    }

    /// The party presses `digits` (250 ms gaps, 100 ms tones, as `SendDTMF(d,250)`).
    pub fn caller_dtmf(&self, call: SimCallId, digits: &str) -> bool {
        self.sim
            .caller_dtmf(call, digits, Duration::from_millis(250))
    }

    /// The party hangs up (fixture 09's event sequence for its kind of channel).
    pub fn caller_hangup(&self, call: SimCallId) -> bool {
        let sim = Arc::clone(&self.sim);
        sim.lock().caller_hangup(&self.sim, call)
    }

    /// The channel id the app sees for this party, while it exists.
    pub fn channel_of(&self, call: SimCallId) -> Option<String> {
        let st = self.sim.lock();
        let c = st.calls.get(&call)?;
        st.channels
            .contains_key(&c.channel)
            .then(|| c.channel.clone())
    }

    /// Whether the party's channel is gone.
    pub fn call_ended(&self, call: SimCallId) -> bool {
        self.channel_of(call).is_none()
    }

    /// Sets a dialplan global (`dialplan set global NAME VALUE`), readable over
    /// `GET /asterisk/variable`.
    pub fn set_global(&self, name: &str, value: &str) {
        self.sim
            .lock()
            .globals
            .insert(name.to_string(), value.to_string());
    }

    /// Sets what dialing `number` does from now on.
    pub fn set_outcome(&self, number: &str, outcome: Outcome) {
        self.sim.lock().outcomes.insert(number.to_string(), outcome);
    }

    /// Every originate received so far.
    pub fn originates(&self) -> Vec<OriginateRecord> {
        self.sim.lock().originates.clone()
    }

    /// Everything the media channels bridged with this party received from the gateway,
    /// in arrival order.
    pub fn received(&self, call: SimCallId) -> Vec<RxPacket> {
        let chans = self.media_channels_of(call);
        let mut all: Vec<RxPacket> = chans.iter().flat_map(|c| self.received_on(c)).collect();
        all.sort_by(|a, b| a.at_ms.total_cmp(&b.at_ms));
        all
    }

    /// `received(call).len()`, counted without copying a packet: cheap to
    /// poll for many calls at once (has the gateway stopped sending?).
    pub fn received_count(&self, call: SimCallId) -> usize {
        self.media_channels_of(call)
            .iter()
            .filter_map(|c| self.sim.media.record(c))
            .map(|r| r.lock().unwrap_or_else(|e| e.into_inner()).packets.len())
            .sum()
    }

    /// The media channels bridged with this party (none once it is gone).
    fn media_channels_of(&self, call: SimCallId) -> Vec<String> {
        self.sim
            .lock()
            .calls
            .get(&call)
            .map(|c| c.media_channels.clone())
            .unwrap_or_default()
    }

    /// Everything one media channel received.
    pub fn received_on(&self, channel_id: &str) -> Vec<RxPacket> {
        self.sim
            .media
            .record(channel_id)
            .map(|r| r.lock().unwrap_or_else(|e| e.into_inner()).packets.clone())
            .unwrap_or_default()
    }

    /// When each utterance of the party (each [`Self::caller_say`]) began to be sent to the
    /// media channels in its bridge: the time its first 20 ms frame left, in ms on the clock of
    /// [`RxPacket::at_ms`]. A barge-in is measured from here to the last packet received.
    pub fn talk_onsets(&self, call: SimCallId) -> Vec<f64> {
        let chans = self.media_channels_of(call);
        let mut out: Vec<f64> = chans
            .iter()
            .filter_map(|c| self.sim.media.record(c))
            .flat_map(|r| {
                r.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .talk_onsets_ms
                    .clone()
            })
            .collect();
        out.sort_by(f64::total_cmp);
        out
    }

    /// The audio the party heard, decoded (only what Asterisk would pass on), in arrival order.
    pub fn heard_pcm(&self, call: SimCallId) -> Vec<i16> {
        self.heard_pcm_since(call, 0)
    }

    /// `heard_pcm(call)[from..]`, decoding only those samples: a script
    /// polling many long calls for what they heard last pays for the new
    /// audio, not for the whole call each time. Empty if `from` is past the end.
    pub fn heard_pcm_since(&self, call: SimCallId, from: usize) -> Vec<i16> {
        let mut skip = from;
        let mut out = Vec::new();
        for c in self.media_channels_of(call) {
            let Some(rec) = self.sim.media.record(&c) else {
                continue;
            };
            let r = rec.lock().unwrap_or_else(|e| e.into_inner());
            for p in r.packets.iter().filter(|p| p.forwarded) {
                let n = r.format.samples_in(p.payload.len());
                if skip >= n {
                    skip -= n;
                    continue;
                }
                let start = out.len();
                decode(r.format, r.little_endian, &p.payload, &mut out);
                out.drain(start..start + skip);
                skip = 0;
            }
        }
        out
    }

    /// `heard_pcm(call).len()`, counted without decoding.
    pub fn heard_len(&self, call: SimCallId) -> usize {
        self.media_channels_of(call)
            .iter()
            .filter_map(|c| self.sim.media.record(c))
            .map(|rec| {
                let r = rec.lock().unwrap_or_else(|e| e.into_inner());
                r.packets
                    .iter()
                    .filter(|p| p.forwarded)
                    .map(|p| r.format.samples_in(p.payload.len()))
                    .sum::<usize>()
            })
            .sum()
    }

    /// Drops `app`'s events socket abruptly (no close frame); events until the gateway
    /// reconnects are lost, channels stay.
    pub fn drop_events_socket(&self, app: &str) {
        self.sim.lock().abort_sockets(Some(app));
    }

    /// `core restart now`; REST answers 503 for `boot` afterwards.
    pub fn restart(&self, boot: Duration) {
        self.sim.restart(boot);
    }

    /// Makes matching REST requests slow or fail. `path` may use `*` for one segment and a
    /// trailing `**`; `method` may be `*`.
    pub fn set_rest_fault(&self, method: &str, path: &str, fault: RestFault) {
        self.sim.faults.add(method, path, fault);
    }

    /// Removes every REST fault.
    pub fn clear_rest_faults(&self) {
        self.sim.faults.clear();
    }

    /// Loss probability (0..1) for media in both directions and up to `jitter_ms` random delay
    /// on what the simulator sends.
    pub fn set_rtp_faults(&self, loss: f64, jitter_ms: u64) {
        let mut f = self
            .sim
            .media
            .faults
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        f.loss = loss;
        f.jitter_ms = jitter_ms;
    }

    /// Ids of the channels that exist now, sorted.
    pub fn channel_ids(&self) -> Vec<String> {
        let mut v: Vec<String> = self.sim.lock().channels.keys().cloned().collect();
        v.sort();
        v
    }

    /// Whether the channel exists and is in a Stasis app (can be bridged).
    pub fn in_stasis(&self, channel_id: &str) -> bool {
        self.sim
            .lock()
            .channels
            .get(channel_id)
            .is_some_and(|c| c.in_stasis)
    }

    /// Ids of the bridges that exist now, sorted.
    pub fn bridge_ids(&self) -> Vec<String> {
        let mut v: Vec<String> = self.sim.lock().bridges.keys().cloned().collect();
        v.sort();
        v
    }

    /// Whether `app` has an active events socket.
    pub fn app_connected(&self, app: &str) -> bool {
        self.sim
            .lock()
            .apps
            .get(app)
            .is_some_and(|a| a.active.is_some())
    }

    /// Media streams currently open (for leak checks).
    pub fn media_stream_count(&self) -> usize {
        self.sim.media.stream_count()
    }

    /// Events delivered to sockets so far.
    pub fn events_sent(&self) -> u64 {
        self.sim.lock().events_sent
    }

    /// Milliseconds since the simulator started, the clock of [`RxPacket::at_ms`].
    pub fn now_ms(&self) -> f64 {
        self.sim.media.now_ms()
    }

    /// Forgets recorded media (long load runs).
    pub fn clear_recordings(&self) {
        self.sim.media.forget_records();
    }

    /// Polls `cond` until it holds or `timeout` passes; returns whether it held.
    pub async fn wait_for(&self, timeout: Duration, cond: impl Fn(&SimHandle) -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if cond(self) {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}
