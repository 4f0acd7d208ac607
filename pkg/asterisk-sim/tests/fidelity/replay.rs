//! Replays a recorded fixture against the simulator and compares shapes.
//!
//! REST steps are sent as recorded (ids translated to the simulator's); before each step the
//! replayer awaits the events the recording shows before it, so comparisons are in order. Far
//! ends that a dialplan drove in the recording (an inbound call arriving, DTMF, a hangup from
//! the other side) are driven through the handle when the next recorded event needs them.
//! Recorded pauses longer than 400 ms are kept, because some steps test what time does (a
//! channel into an unregistered app vanishing after 0.5 s).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use vg_asterisk_sim::{SimCallId, SimConfig, SimHandle, Simulator};

use crate::shape::{compare, learn_ids};

const WAIT: Duration = Duration::from_secs(10);

/// Recorded events the simulator does not model: the dialplan's own applications of the far
/// ends (`ChannelDialplan`, their variables), device states and chan_sip's private call id.
fn modeled(e: &Value) -> bool {
    let ty = e["type"].as_str().unwrap_or("");
    if matches!(
        ty,
        "ChannelDialplan" | "DeviceStateChanged" | "ChannelCreated"
    ) {
        return false;
    }
    if ty == "ChannelVarset" {
        let v = e["variable"].as_str().unwrap_or("");
        if matches!(
            v,
            "PLAYBACKSTATUS" | "REC" | "MIXMONITOR_FILENAME" | "BRIDGEPVTCALLID"
        ) || v.starts_with("GLOBAL")
        {
            return false;
        }
    }
    true
}

struct Sock {
    events: Arc<Mutex<Vec<Value>>>,
    closed: Arc<AtomicBool>,
    close: Option<mpsc::UnboundedSender<()>>,
    /// (step index, event) of the recorded, modeled events of this socket.
    expected: Vec<(usize, Value)>,
    matched: usize,
    compare: bool,
}

pub(crate) struct Report {
    pub(crate) errors: Vec<String>,
    pub(crate) skipped: Vec<String>,
    pub(crate) http_compared: usize,
    pub(crate) events_compared: usize,
}

pub(crate) struct Replay {
    sim: SimHandle,
    http: reqwest::Client,
    ids: HashMap<String, String>,
    socks: HashMap<String, Sock>,
    inbound: HashMap<String, SimCallId>,
    deleted: HashSet<String>,
    triggered: HashSet<(String, usize)>,
    report: Report,
}

fn chan_of(e: &Value) -> Option<&str> {
    e.get("channel")
        .or_else(|| e.get("peer"))
        .and_then(|c| c["id"].as_str())
}

impl Replay {
    pub(crate) async fn run(file: &str) -> Report {
        let path = format!(
            "{}/../../tests/fixtures/ari-fixtures/{file}",
            env!("CARGO_MANIFEST_DIR")
        );
        let fx: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("json");
        let mut cfg = SimConfig {
            unknown_sounds_fail: true,
            ..SimConfig::default()
        };
        // The recording Asterisk had no PJSIP and no registered SIP peer (fixture 04).
        for n in ["caller", "nosuchpeer"] {
            cfg.outcomes
                .insert(n.into(), vg_asterisk_sim::Outcome::AllocationFailed);
        }
        let sim = Simulator::start(cfg).await.expect("sim");
        let mut r = Replay {
            sim,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(15))
                .build()
                .expect("client"),
            ids: HashMap::new(),
            socks: HashMap::new(),
            inbound: HashMap::new(),
            deleted: HashSet::new(),
            triggered: HashSet::new(),
            report: Report {
                errors: vec![],
                skipped: vec![],
                http_compared: 0,
                events_compared: 0,
            },
        };
        let steps = fx["steps"].as_array().cloned().unwrap_or_default();
        let mut expected: HashMap<String, Vec<(usize, Value)>> = HashMap::new();
        for (i, s) in steps.iter().enumerate() {
            if s["kind"] == "event" && modeled(&s["event"]) {
                // An event stamped in the same millisecond as the next request can be that
                // request's effect (05 records a hangup event just before its DELETE): await it
                // after that request.
                let t = s["t_ms"].as_u64().unwrap_or(0);
                let next = steps
                    .iter()
                    .enumerate()
                    .skip(i + 1)
                    .find(|(_, x)| x["kind"] != "event" && x["kind"] != "note");
                // Only a request on the event's own channel can have caused it, and never a
                // StasisStart (that one is what the request reacts to).
                let ev = &s["event"];
                let caused_by = |x: &Value| {
                    let path = x["request"]["path"].as_str().unwrap_or("");
                    ev["type"] != "StasisStart" && chan_of(ev).is_some_and(|c| path.contains(c))
                };
                let at = match next {
                    Some((j, x)) if x["t_ms"].as_u64().unwrap_or(0) <= t && caused_by(x) => j,
                    _ => i,
                };
                expected
                    .entry(s["ws"].as_str().unwrap_or("").to_string())
                    .or_default()
                    .push((at, s["event"].clone()));
            }
        }
        let start = Instant::now();
        let mut prev_t = 0u64;
        let mut prev_at = start;
        for (i, s) in steps.iter().enumerate() {
            let t = s["t_ms"].as_u64().unwrap_or(0);
            if matches!(s["kind"].as_str(), Some("http" | "cli" | "ws")) {
                if !r.await_events(i).await {
                    break;
                }
                let gap = t.saturating_sub(prev_t);
                if gap > 400 {
                    // A long recorded pause is a wait for Asterisk to act on its own
                    // (05: a channel of an unregistered app vanishes within 500 ms).
                    // Keep at least the recorded gap after the previous request was
                    // answered, even when a loaded machine ran that request late.
                    let due = (start + Duration::from_millis(t))
                        .max(prev_at + Duration::from_millis(gap));
                    tokio::time::sleep_until(due).await;
                }
                prev_t = t;
            }
            match s["kind"].as_str() {
                Some("http") => r.http(s).await,
                Some("ws") => r.ws(s, &mut expected).await,
                Some("cli") if s["command"].as_str() == Some("core restart now") => {
                    r.sim.restart(Duration::ZERO);
                }
                Some("cli")
                    if s["command"]
                        .as_str()
                        .is_some_and(|c| c.starts_with("dialplan set global ")) =>
                {
                    let cmd = s["command"].as_str().unwrap_or("");
                    let mut parts = cmd
                        .trim_start_matches("dialplan set global ")
                        .splitn(2, ' ');
                    if let (Some(k), Some(v)) = (parts.next(), parts.next()) {
                        r.sim.set_global(k, v);
                    }
                }
                _ => {}
            }
            if matches!(s["kind"].as_str(), Some("http" | "cli" | "ws")) {
                prev_at = Instant::now();
            }
        }
        r.await_events(usize::MAX).await;
        r.report
    }

    fn translate(&self, s: &str) -> Option<String> {
        let out: Vec<String> = s
            .split('/')
            .map(|seg| {
                seg.split(',')
                    .map(|x| self.ids.get(x).cloned().unwrap_or_else(|| x.to_string()))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect();
        let out = out.join("/");
        // An id we never learned (a channel made by a CLI command the simulator cannot run).
        let unknown = out.split(['/', ',']).any(|seg| {
            let mut p = seg.splitn(2, '.');
            matches!((p.next(), p.next()), (Some(a), Some(b)) if a.len() == 10 && a.bytes().all(|c| c.is_ascii_digit()) && !b.is_empty() && b.bytes().all(|c| c.is_ascii_digit()))
                && !self.ids.values().any(|v| v == seg)
        });
        (!unknown).then_some(out)
    }

    async fn http(&mut self, s: &Value) {
        let req = &s["request"];
        let method = req["method"].as_str().unwrap_or("GET");
        let Some(path) = self.translate(req["path"].as_str().unwrap_or("")) else {
            self.report
                .skipped
                .push(format!("{method} {}", req["path"]));
            return;
        };
        let mut query = Vec::new();
        for (k, v) in req["query"].as_object().into_iter().flatten() {
            let Some(v) = self.translate(v.as_str().unwrap_or("")) else {
                self.report
                    .skipped
                    .push(format!("{method} {path} ({k}={v})"));
                return;
            };
            query.push((k.clone(), v));
        }
        if method == "DELETE" && path.starts_with("/ari/channels/") {
            self.deleted
                .insert(path.rsplit('/').next().unwrap_or("").to_string());
        }
        let url = format!("{}{path}", self.sim.base_url());
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut rb = self.http.request(m, &url).query(&query);
        match req.get("auth").and_then(Value::as_str) {
            Some("none") => {}
            Some(up) => {
                let (u, p) = up.split_once(':').unwrap_or((up, ""));
                rb = rb.basic_auth(u, Some(p));
            }
            None => rb = rb.basic_auth("gw", Some("gwsecret")),
        }
        match &req["body"] {
            Value::Null => {}
            Value::String(raw) => {
                rb = rb
                    .header("content-type", "application/json")
                    .body(raw.clone())
            }
            v => rb = rb.json(v),
        }
        let resp = rb.send().await.expect("http");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        let rec = &s["response"];
        let what = format!("{method} {}", req["path"].as_str().unwrap_or(""));
        self.report.http_compared += 1;
        if rec["status"].as_u64() != Some(u64::from(status)) {
            self.report.errors.push(format!(
                "{what}: status {} recorded, {status} simulated ({text})",
                rec["status"]
            ));
            return;
        }
        let act: Value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        let mut errs = Vec::new();
        let mut rec_body = rec["body"].clone();
        // Whether `STASISSTATUS` is already in an externalMedia answer's `channelvars` depends
        // on a race inside Asterisk (fixture 02 has it, 01 does not).
        if let Some(cv) = rec_body
            .get_mut("channelvars")
            .and_then(Value::as_object_mut)
        {
            cv.remove("STASISSTATUS");
        }
        compare(&rec_body, &act, &what, &mut errs);
        self.report.errors.extend(errs);
        learn_ids(&rec["body"], &act, &mut self.ids);
    }

    async fn ws(&mut self, s: &Value, expected: &mut HashMap<String, Vec<(usize, Value)>>) {
        let label = s["ws"].as_str().unwrap_or("").to_string();
        let url = s["url"].as_str().unwrap_or("");
        let query = url.split_once('?').map(|(_, q)| q).unwrap_or("");
        let path = url
            .split("8088")
            .nth(1)
            .unwrap_or("/ari/events")
            .split('?')
            .next()
            .unwrap_or("");
        let url = format!("ws://{}{path}?{query}", self.sim.addr());
        match s["action"].as_str() {
            Some("open") => {
                let (ws, _) = tokio_tungstenite::connect_async(url.as_str())
                    .await
                    .expect("ws connect");
                let events = Arc::new(Mutex::new(Vec::new()));
                let closed = Arc::new(AtomicBool::new(false));
                let (close_tx, mut close_rx) = mpsc::unbounded_channel::<()>();
                let (ev, cl) = (Arc::clone(&events), Arc::clone(&closed));
                tokio::spawn(async move {
                    let (mut tx, mut rx) = ws.split();
                    loop {
                        tokio::select! {
                            _ = close_rx.recv() => { let _ = tx.send(Message::Close(None)).await; }
                            m = rx.next() => match m {
                                Some(Ok(Message::Text(t))) => {
                                    if let Ok(v) = serde_json::from_str::<Value>(&t) {
                                        ev.lock().unwrap().push(v);
                                    }
                                }
                                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                                _ => {}
                            },
                        }
                    }
                    cl.store(true, Ordering::SeqCst);
                });
                let compare = !query.contains("subscribeAll=true");
                if !compare {
                    self.report
                        .skipped
                        .push(format!("events of subscribeAll socket {label}"));
                }
                let exp = expected.remove(&label).unwrap_or_default();
                self.socks.insert(
                    label,
                    Sock {
                        events,
                        closed,
                        close: Some(close_tx),
                        expected: exp,
                        matched: 0,
                        compare,
                    },
                );
            }
            Some("closed") => {
                let Some(sock) = self.socks.get_mut(&label) else {
                    return;
                };
                if s["code"].as_u64() == Some(1000)
                    && let Some(c) = &sock.close
                {
                    let _ = c.send(());
                }
                let closed = Arc::clone(&sock.closed);
                let deadline = Instant::now() + WAIT;
                while !closed.load(Ordering::SeqCst) && Instant::now() < deadline {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                if !closed.load(Ordering::SeqCst) {
                    self.report
                        .errors
                        .push(format!("socket {label} did not close"));
                }
            }
            Some("open_failed") => {
                let err = tokio_tungstenite::connect_async(url.as_str()).await.err();
                let got = match err {
                    Some(tokio_tungstenite::tungstenite::Error::Http(r)) => r.status().as_u16(),
                    other => {
                        self.report
                            .errors
                            .push(format!("ws {label}: expected failure, got {other:?}"));
                        return;
                    }
                };
                self.report.http_compared += 1;
                if s["http_status"].as_u64() != Some(u64::from(got)) {
                    self.report.errors.push(format!(
                        "ws {label}: status {} recorded, {got} simulated",
                        s["http_status"]
                    ));
                }
            }
            _ => {}
        }
    }

    /// Awaits, on every compared socket, the modeled events recorded before step `upto`.
    async fn await_events(&mut self, upto: usize) -> bool {
        let labels: Vec<String> = self.socks.keys().cloned().collect();
        for label in labels {
            let deadline = Instant::now() + WAIT;
            let mut since = Instant::now();
            loop {
                let (want, have) = {
                    let s = &self.socks[&label];
                    if !s.compare {
                        break;
                    }
                    let want = s.expected.iter().filter(|(i, _)| *i < upto).count();
                    let got: Vec<Value> = s
                        .events
                        .lock()
                        .unwrap()
                        .iter()
                        .filter(|e| modeled(e))
                        .cloned()
                        .collect();
                    (want, got)
                };
                self.match_events(&label, &have);
                let matched = self.socks[&label].matched;
                if matched >= want {
                    break;
                }
                if Instant::now() > deadline {
                    let next = &self.socks[&label].expected[matched].1;
                    self.report.errors.push(format!(
                        "{label}: timed out waiting for recorded event #{matched} {}",
                        next["type"]
                    ));
                    return false;
                }
                if since.elapsed() > Duration::from_millis(200) {
                    self.trigger(&label, matched);
                    since = Instant::now();
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        true
    }

    fn match_events(&mut self, label: &str, have: &[Value]) {
        loop {
            let s = &self.socks[label];
            let k = s.matched;
            let (Some((_, rec)), Some(act)) = (s.expected.get(k), have.get(k)) else {
                return;
            };
            let (rec, act) = (rec.clone(), act.clone());
            if rec["type"] != act["type"] {
                self.report.errors.push(format!(
                    "{label} event #{k}: recorded {} vs simulated {} ({})",
                    rec["type"], act["type"], act
                ));
                // Skip this recorded event and retry against the same simulated one.
                self.socks.get_mut(label).unwrap().expected.remove(k);
                continue;
            }
            let mut errs = Vec::new();
            compare(&rec, &act, &format!("{label} {}", rec["type"]), &mut errs);
            self.report.errors.extend(errs);
            learn_ids(&rec, &act, &mut self.ids);
            self.report.events_compared += 1;
            self.socks.get_mut(label).unwrap().matched += 1;
        }
    }

    fn call_for(&self, rec_chan: &str) -> Option<SimCallId> {
        if let Some(c) = self.inbound.get(rec_chan) {
            return Some(*c);
        }
        let sim_id = self.ids.get(rec_chan)?;
        self.sim
            .originates()
            .into_iter()
            .find(|o| &o.channel_id == sim_id)
            .map(|o| o.call)
    }

    /// Drives the far end the recording's dialplan drove, once per expected event.
    fn trigger(&mut self, label: &str, k: usize) {
        if !self.triggered.insert((label.to_string(), k)) {
            return;
        }
        let expected = self.socks[label].expected.clone();
        let e = &expected[k].1;
        let ty = e["type"].as_str().unwrap_or("");
        let chan = chan_of(e).unwrap_or("").to_string();
        match ty {
            "StasisStart" if !self.ids.contains_key(&chan) => {
                let c = &e["channel"];
                let did = e["args"][0].as_str().unwrap_or("");
                let caller = format!(
                    "\"{}\" <{}>",
                    c["caller"]["name"].as_str().unwrap_or(""),
                    c["caller"]["number"].as_str().unwrap_or("")
                );
                let sip = c["name"].as_str().unwrap_or("").starts_with("SIP/");
                let app = e["application"].as_str().unwrap_or("");
                let call = self.sim.place_inbound_call_to(app, did, &caller, sip);
                self.inbound.insert(chan, call);
            }
            "ChannelDtmfReceived" => {
                if let Some(call) = self.call_for(&chan) {
                    self.sim
                        .caller_dtmf(call, e["digit"].as_str().unwrap_or("1"));
                }
            }
            // The recording's script hung some channels up without recording the request
            // (05's final cleanup): send that DELETE ourselves.
            "ChannelHangupRequest"
                if e.get("cause").and_then(Value::as_u64) == Some(32)
                    && self.ids.contains_key(&chan)
                    && !self.deleted.contains(&self.ids[&chan]) =>
            {
                let url = format!("{}/ari/channels/{}", self.sim.base_url(), self.ids[&chan]);
                let http = self.http.clone();
                self.report
                    .skipped
                    .push(format!("unrecorded DELETE of {chan} sent"));
                tokio::spawn(async move {
                    let _ = http
                        .delete(url)
                        .basic_auth("gw", Some("gwsecret"))
                        .send()
                        .await;
                });
            }
            "ChannelHangupRequest" | "ChannelVarset" => {
                let far = match ty {
                    "ChannelVarset" => e["variable"]
                        .as_str()
                        .unwrap_or("")
                        .starts_with("RTPAUDIOQOS"),
                    _ => match (
                        e.get("cause").and_then(Value::as_u64),
                        e.get("soft").is_some(),
                    ) {
                        (None, _) => true,
                        (Some(16), true) => true,
                        (Some(16), false) => self.inbound.contains_key(&chan),
                        _ => false,
                    },
                };
                if !far {
                    return;
                }
                let call = expected[k..]
                    .iter()
                    .find_map(|(_, x)| chan_of(x).and_then(|c| self.call_for(c)));
                if let Some(call) = call {
                    let deleted = self
                        .sim
                        .channel_of(call)
                        .is_none_or(|c| self.deleted.contains(&c));
                    if !deleted {
                        self.sim.caller_hangup(call);
                    }
                }
            }
            _ => {}
        }
    }
}
