//! Fault scenarios of the data path (see main.rs): the broker stopped, the
//! gateway SIGKILLed on a full spool, Redis and PostgreSQL restarted mid-call,
//! a corrupt spool record, a full disk under the spool.
//!
//! The events expected are what the gateway itself says its calls published:
//! `voicegw_kafka_events_accepted_total` (taken for delivery) plus
//! `voicegw_kafka_spool_full_total` (refused), read once no more arrive —
//! never what came out of the broker. A fault-free control call runs first
//! (its events are read back, so the path works before the fault); the notes
//! also give calls x the control call's count, which holds while each call's
//! script runs as scripted (under load a reply's end may be misjudged).

use crate::rig::{Engines, Gw, GwOpts, calls, keys, more_turns, talk, until};
use std::{
    path::Path,
    sync::Arc,
    time::{Duration, Instant},
};
use vg_asterisk_sim::{SimCallId, SimConfig, SimHandle, Simulator};
use vg_testkit::faults::{Outcome, Scale};

/// One scenario's setting: engines, simulator, spool, sizes.
struct Scene {
    e: Engines,
    sim: Arc<SimHandle>,
    spool: tempfile::TempDir,
    scale: Scale,
    rtp: &'static str,
}

impl Scene {
    async fn new(rtp: &'static str, with_pg: bool) -> Scene {
        Scene {
            e: Engines::start(with_pg).await,
            sim: Arc::new(Simulator::start(SimConfig::default()).await.unwrap()),
            spool: tempfile::tempdir().unwrap(),
            scale: Scale::from_env(),
            rtp,
        }
    }

    /// Concurrent calls under the fault: a handful, or 100.
    fn calls(&self) -> usize {
        self.scale.pick(3, 100)
    }

    async fn gw(&self, fsize_kib: Option<u64>) -> Gw {
        let o = GwOpts {
            spool: self.spool.path(),
            rtp: self.rtp,
            fsize_kib,
        };
        Gw::spawn(&self.sim, &self.e, &o).await
    }

    /// Runs the control call (greeting, `turns` turns, hang-up) with nothing
    /// failing and returns how many events it published. It must be the first
    /// call on the topic.
    async fn control(&self, gw: &Gw, turns: usize) -> u64 {
        let call = talk(&self.sim, turns).await;
        self.sim.caller_hangup(call);
        until("the control call to end", 30, async || {
            gw.metric("voicegw_live_calls").await == 0.0
        })
        .await;
        let t = self
            .e
            .read_back(60, |t| t.delivered() > 0 && t.unended() == 0)
            .await;
        assert_eq!(t.duplicates(), 0);
        t.delivered()
    }

    fn hang_up(&self, calls: &[SimCallId]) {
        for c in calls {
            self.sim.caller_hangup(*c);
        }
    }

    /// Reads the topic until `expected` distinct events and no call without
    /// its end, or 90 s; the outcome of `calls` calls.
    async fn outcome(&self, name: &str, calls: usize, expected: u64) -> Outcome {
        let t = self
            .e
            .read_back(90, move |t| t.delivered() >= expected && t.unended() == 0)
            .await;
        t.outcome(name, calls as u64, expected)
    }
}

/// Events the gateway's calls published (accepted for delivery or refused),
/// once no more arrive: unchanged for a second, within 60 s.
async fn published(gw: &Gw) -> u64 {
    let count = async || {
        gw.metric("voicegw_kafka_events_accepted_total").await
            + gw.metric("voicegw_kafka_spool_full_total").await
    };
    let mut last = (count().await, Instant::now());
    until("the gateway's events to settle", 60, async || {
        let n = count().await;
        if n != last.0 {
            last = (n, Instant::now());
        }
        last.1.elapsed() >= Duration::from_secs(1)
    })
    .await;
    last.0 as u64
}

/// Blocking work (starting a server) without stalling the scripted calls.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

/// The broker stopped for at least 60 s (small: 3 s), and for as long as
/// the calls have not published 10,000 events since (small: 20): waves of
/// concurrent calls, each greeted, then keying digits (each key a turn of
/// its own: `call.dtmf`, the agent's answer, and the next key cutting that
/// answer, `call.bargein`), then a spoken turn and the hang-up. The broker
/// returns while the last wave is still up: its spoken turn comes after.
/// Every event is then read back once per id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_stopped_60s() {
    let mut s = Scene::new("35000-35299", false).await;
    let gw = s.gw(None).await;
    let per_call = s.control(&gw, 2).await;
    let before = published(&gw).await;
    let outage = s
        .scale
        .pick(Duration::from_secs(3), Duration::from_secs(60));
    let (target, digits) = s.scale.pick((20.0, "12"), (10_000.0, KEYS));
    blocking(|| s.e.stop_broker());
    let stopped = tokio::time::Instant::now();
    let accepted = async || gw.metric("voicegw_kafka_events_accepted_total").await;
    let mut placed = Vec::new();
    let mut waves = 0;
    let last = loop {
        let wave = calls(&s.sim, s.calls(), 0).await;
        keys(&s.sim, &wave, digits).await;
        waves += 1;
        let away = accepted().await - before as f64;
        if stopped.elapsed() >= outage && away >= target {
            break wave;
        }
        assert!(
            stopped.elapsed() < Duration::from_secs(600),
            "{away} events in 10 minutes"
        );
        more_turns(&s.sim, &wave, 1).await;
        s.hang_up(&wave);
        placed.extend(wave);
    };
    let spooled = gw.metric("voicegw_kafka_spooled_events").await;
    let during = accepted().await - before as f64;
    blocking(|| s.e.start_broker());
    let down = stopped.elapsed();
    more_turns(&s.sim, &last, 1).await;
    s.hang_up(&last);
    let n = placed.len() + last.len();
    until("the calls to end", 60, async || {
        gw.metric("voicegw_live_calls").await == 0.0
    })
    .await;
    let expected = published(&gw).await - before;
    let errors = gw
        .metric("voicegw_calls_ended_total{reason=\"error\"}")
        .await;
    let o = s.outcome("kafka-stopped-60s", n, expected).await;
    let note = format!(
        "broker (tansu, in memory) stopped {:.0} s while {waves} waves of {} concurrent calls ran \
         (each greeted, then keying {} digits, each a turn, then a spoken turn; the last wave's \
         spoken turn after the broker was back): {during} events published while it was away, \
         {spooled} of them still in the spool when it came back; {expected} events in all by \
         the gateway's count ({} by the control call's {per_call} per call, which has no keys); \
         {errors} calls ended by the gateway with reason error",
        down.as_secs_f64(),
        s.calls(),
        digits.len(),
        n as u64 * per_call
    );
    assert!(
        during >= target,
        "{during} events while the broker was away"
    );
    o.note(note).check();
    gw.stop().await;
}

/// The digits a full-size wave's callers key (10.5 s of keys at Asterisk's
/// pace), each a turn: about 6,000 events a wave of 100 calls.
const KEYS: &str = "123456789012345678901234567890";

/// The gateway SIGKILLed while the broker is down and the calls' events wait
/// in the spool; started again on the same spool, then the broker comes up.
/// `cut` calls are still up at the kill.
async fn sigkill(name: &str, rtp: &'static str, cut: usize) {
    let mut s = Scene::new(rtp, false).await;
    let mut gw = s.gw(None).await;
    let per_call = s.control(&gw, 1).await;
    blocking(|| s.e.stop_broker());
    let ended = calls(&s.sim, s.calls(), 1).await;
    s.hang_up(&ended);
    let live = calls(&s.sim, cut, 1).await;
    until("the ended calls counted", 60, async || {
        gw.metric("voicegw_live_calls").await == cut as f64
    })
    .await;
    // The control call's events went to the broker that stopped.
    let first = published(&gw).await - per_call;
    let spooled = gw.metric("voicegw_kafka_spooled_events").await;
    gw.kill();
    let gw = s.gw(None).await;
    blocking(|| s.e.start_broker());
    let n = ended.len() + live.len();
    // Nobody hangs the cut calls up but the new process, which must also
    // publish their call.ended and end their records.
    until("the cut calls' channels hung up", 30, async || {
        live.iter().all(|c| s.sim.call_ended(*c))
    })
    .await;
    let expected = first + published(&gw).await;
    let o = s.outcome(name, n, expected).await;
    until("this instance's live index emptied", 30, async || {
        owned_live(&s.e).await == 0
    })
    .await;
    let restarted = gw
        .metric("voicegw_calls_ended_total{reason=\"gateway_restart\"}")
        .await;
    assert_eq!(restarted, cut as f64, "calls ended by the restart");
    let note = format!(
        "broker down; {} calls ended and {cut} still up when the gateway was SIGKILLed with \
         {spooled} events in its spool; restarted on the same spool, broker back; the new \
         process hung the {cut} cut calls up and ended them (gateway_restart), its Redis live index \
         empty after; {expected} events published by the gateway's count ({} by the control \
         call's {per_call} per call, the cut calls' call.ended included)",
        ended.len(),
        n as u64 * per_call
    );
    o.note(note).check();
    gw.stop().await;
}

/// Calls in the gateway instance's live index in Redis.
async fn owned_live(e: &crate::rig::Engines) -> u64 {
    let client = redis::Client::open(e.redis.url()).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    redis::cmd("ZCARD")
        .arg("vg:gw:gw-faults:live")
        .query_async(&mut c)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_sigkill_full_spool() {
    sigkill("gateway-sigkill-full-spool", "35300-35599", 0).await;
}

/// The calls the killed process was handling are ended by the next one: at
/// its first resync it hangs up their channels, publishes their `call.ended`
/// and ends their Redis records.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_sigkill_cuts_live_calls() {
    let cut = Scale::from_env().pick(2, 20);
    sigkill("gateway-sigkill-live-calls", "35600-35899", cut).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarted_mid_call() {
    let mut s = Scene::new("35900-36199", true).await;
    let gw = s.gw(None).await;
    let per_call = s.control(&gw, 2).await;
    let live = calls(&s.sim, s.calls(), 1).await;
    let port = s.e.redis.port();
    blocking(|| s.e.redis.kill()).unwrap();
    s.e.redis = blocking(|| vg_testkit::RedisServer::start_on(port)).unwrap();
    more_turns(&s.sim, &live, 1).await;
    s.hang_up(&live);
    let n = live.len() + 1;
    until("the calls to end", 60, async || {
        gw.metric("voicegw_live_calls").await == 0.0
    })
    .await;
    let expected = published(&gw).await;
    let o = s.outcome("redis-restarted-mid-call", n, expected).await;
    let rows = history(&s, n).await;
    let o = o.note(format!(
        "redis-server SIGKILLed and started empty on its port between the first and second turn of \
         {} concurrent calls (+1 fault-free control call); {expected} events published by the \
         gateway's count ({} by the control call's {per_call} per call); {rows} of {n} call \
         records in PostgreSQL",
        live.len(),
        n as u64 * per_call
    ));
    lost_rows(o, n, rows).check();
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarted_mid_call() {
    let mut s = Scene::new("36200-36499", true).await;
    let gw = s.gw(None).await;
    let per_call = s.control(&gw, 2).await;
    let live = calls(&s.sim, s.calls(), 1).await;
    blocking(|| s.e.pg().kill()).unwrap();
    more_turns(&s.sim, &live, 1).await;
    s.hang_up(&live);
    until("the calls to end", 60, async || {
        gw.metric("voicegw_live_calls").await == 0.0
    })
    .await;
    let queued = gw.metric("voicegw_history_queued").await;
    blocking(|| s.e.pg().restart()).unwrap();
    let n = live.len() + 1;
    let expected = published(&gw).await;
    let o = s.outcome("postgres-restarted-mid-call", n, expected).await;
    let rows = history(&s, n).await;
    let o = o.note(format!(
        "PostgreSQL SIGKILLed between the first and second turn of {} concurrent calls, which \
         ended while it was down ({queued} call records queued), then restarted with crash \
         recovery; {rows} of {n} call records (+1 control call) in PostgreSQL afterwards; \
         {expected} events published by the gateway's count ({} by the control call's \
         {per_call} per call)",
        live.len(),
        n as u64 * per_call
    ));
    lost_rows(o, n, rows).check();
    gw.stop().await;
}

/// Call records in PostgreSQL once `n` are there, or after 60 s.
async fn history(s: &Scene, n: usize) -> i64 {
    let mut rows = 0;
    let _ = tokio::time::timeout(Duration::from_secs(60), async {
        while rows < n as i64 {
            rows = s.e.history_rows().await;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await;
    rows
}

/// A call whose history row never arrived counts as lost.
fn lost_rows(mut o: Outcome, n: usize, rows: i64) -> Outcome {
    o.calls_lost += (n as i64 - rows).max(0) as u64;
    o
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spool_corrupt_record() {
    let mut s = Scene::new("36500-36799", false).await;
    let gw = s.gw(None).await;
    let per_call = s.control(&gw, 1).await;
    blocking(|| s.e.stop_broker());
    let live = calls(&s.sim, s.calls(), 1).await;
    s.hang_up(&live);
    until("the calls to end", 60, async || {
        gw.metric("voicegw_live_calls").await == 0.0
    })
    .await;
    let spooled = gw.metric("voicegw_kafka_spooled_events").await;
    let published = published(&gw).await - per_call;
    gw.stop().await;
    let kind = corrupt_one(s.spool.path());
    blocking(|| s.e.start_broker());
    let gw = s.gw(None).await;
    let corrupt = gw.metric("voicegw_spool_corrupt_total").await;
    let n = live.len();
    // The corrupted record is gone by definition: one event fewer.
    let o = s.outcome("spool-corrupt-record", n, published - 1).await;
    let o = o.note(format!(
        "broker down, {n} calls' {spooled} events in the spool ({published} published by the \
         gateway's count; {} by the control call's {per_call} per call), gateway stopped; one \
         byte of a `{kind}` record in the middle of the segment flipped; restarted: counted in \
         voicegw_spool_corrupt_total = {corrupt}, skipped; that event is lost by definition \
         (expected = published - 1), every record after it delivered",
        n as u64 * per_call
    ));
    assert_eq!(corrupt, 1.0, "the corrupt record is counted");
    o.check();
    gw.stop().await;
}

/// Flips a payload byte of the middle record (not a `call.ended`) of the
/// spool's segment; returns that record's event type.
fn corrupt_one(dir: &Path) -> String {
    let seg = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .expect("a segment");
    let mut bytes = std::fs::read(&seg).unwrap();
    let mut frames = Vec::new();
    let mut at = 0;
    while at + 8 <= bytes.len() {
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        frames.push((at + 8, len));
        at += 8 + len;
    }
    let pick = frames[frames.len() / 2..]
        .iter()
        .map(|&(start, len)| {
            let v: serde_json::Value = serde_json::from_slice(&bytes[start..start + len]).unwrap();
            (start, len, v["type"].as_str().unwrap().to_owned())
        })
        .find(|(_, _, t)| t != "call.ended")
        .expect("a record to corrupt");
    bytes[pick.0 + pick.1 / 2] ^= 0x20;
    std::fs::write(&seg, bytes).unwrap();
    pick.2
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spool_disk_full() {
    let mut s = Scene::new("36800-37099", false).await;
    // The spool's file may not grow beyond this (SIGXFSZ ignored: writes fail
    // with EFBIG, as on a full disk).
    let kib = s.scale.pick(8, 128);
    let gw = s.gw(Some(kib)).await;
    let per_call = s.control(&gw, 1).await;
    blocking(|| s.e.stop_broker());
    let live = calls(&s.sim, s.calls(), 1).await;
    s.hang_up(&live);
    until("the calls to end", 60, async || {
        gw.metric("voicegw_live_calls").await == 0.0
    })
    .await;
    let waiting = gw.metric("voicegw_kafka_spooled_events").await;
    let in_memory = gw.metric("voicegw_kafka_spool_backlog_events").await;
    let refused = gw.metric("voicegw_kafka_spool_full_total").await;
    assert!(
        in_memory > 0.0,
        "the disk refused events: {in_memory} held in memory"
    );
    let expected = published(&gw).await - per_call;
    blocking(|| s.e.start_broker());
    let n = live.len();
    let o = s.outcome("spool-disk-full", n, expected).await;
    let o = o.note(format!(
        "the gateway under RLIMIT_FSIZE = {kib} KiB (SIGXFSZ ignored: spool writes fail with \
         EFBIG as on a full disk), broker down while {} calls ran: {waiting} events waiting, \
         {in_memory} of them in memory (the disk refused them), {refused} refused; broker back, the acknowledged segment \
         replaced, the backlog written and sent; {expected} events published by the gateway's \
         count ({} by the control call's {per_call} per call)",
        live.len(),
        n as u64 * per_call
    ));
    o.check();
    gw.stop().await;
}
