//! One measurement window: readings at its start and end, and the step's
//! figures from their difference.

use std::sync::Mutex;
use std::time::Instant;

use serde_json::{Value, json};
use vg_asterisk_sim::{HistogramSnapshot, Pacing, SimHandle};

use crate::caller::Findings;
use crate::figures::{round2, summary};
use crate::gateway::{FakeDelays, Gateway};
use crate::procfs::{ProcSample, machine_ticks, sample, udp_rcvbuf_errors};
use crate::prom::{Scrape, bucket_quantile};

/// Readings at one moment.
pub(crate) struct Mark {
    at: Instant,
    sim_ms: f64,
    pub(crate) gw: ProcSample,
    me: ProcSample,
    scrape: Scrape,
    udp_errors: u64,
    /// (busy, total) ticks of the whole machine.
    machine: (u64, u64),
}

/// What every reading needs.
pub(crate) struct Probe<'a> {
    pub(crate) sim: &'a SimHandle,
    pub(crate) gw: &'a Gateway,
    pub(crate) ticks: f64,
}

impl Probe<'_> {
    pub(crate) fn mark(&self) -> std::io::Result<Mark> {
        let gone = || std::io::Error::other("gateway process gone");
        Ok(Mark {
            at: Instant::now(),
            sim_ms: self.sim.now_ms(),
            gw: sample(self.gw.pid(), self.ticks).ok_or_else(gone)?,
            me: sample(std::process::id(), self.ticks).unwrap_or_default(),
            scrape: self.gw.scrape()?,
            udp_errors: udp_rcvbuf_errors(),
            machine: machine_ticks(),
        })
    }
}

impl Mark {
    /// The gateway's counters and histograms gathered since `earlier`.
    pub(crate) fn scrape_since(&self, earlier: &Mark) -> Scrape {
        self.scrape.since(&earlier.scrape)
    }
}

fn in_window(v: &[(f64, f64)], a: f64, b: f64) -> Vec<f64> {
    v.iter()
        .filter(|(t, _)| (a..b).contains(t))
        .map(|(_, x)| *x)
        .collect()
}

/// A histogram's figures from `/metrics` (bucket upper bounds, in ms).
pub(crate) fn hist_ms(d: &Scrape, name: &str, labels: &str) -> Value {
    let b = d.buckets(name, labels);
    let ms = |q| bucket_quantile(&b, q).map(|s| if s.is_finite() { s * 1000.0 } else { s });
    json!({
        "count": b.last().map_or(0.0, |l| l.1),
        "p50_le_ms": ms(0.5),
        "p99_le_ms": ms(0.99),
    })
}

/// `{p50, p99, max}` of a pacing histogram, in ms.
fn quantiles(h: &HistogramSnapshot) -> Value {
    json!({
        "p50_ms": h.quantile_ms(0.5),
        "p99_ms": h.quantile_ms(0.99),
        "max_ms": h.max_ms(),
    })
}

/// What the gateway itself measured over the whole run (it observes turn and
/// barge-in figures when a call ends): `d` is the difference of two scrapes.
pub(crate) fn inside_figures(d: &Scrape) -> Value {
    let stage = |s: &str| hist_ms(d, "voicegw_turn_latency_seconds", &format!("stage=\"{s}\""));
    json!({
        "turn_stt_stage": stage("stt"),
        "turn_media_stage": stage("media"),
        "turn_total": stage("total"),
        "barge_in": hist_ms(d, "voicegw_bargein_delay_seconds", ""),
    })
}

/// The step's JSON: everything the report lists for it.
pub(crate) fn step_figures(
    calls: u64,
    base: &ProcSample,
    a: &Mark,
    b: &Mark,
    pacing: &Pacing,
    findings: &Mutex<Findings>,
    delays: FakeDelays,
) -> Value {
    let secs = (b.at - a.at).as_secs_f64();
    let cpus = std::thread::available_parallelism().map_or(1, usize::from) as f64;
    let n = calls.max(1) as f64;
    let gw_cores = (b.gw.cpu_secs - a.gw.cpu_secs) / secs;
    let me_cores = (b.me.cpu_secs - a.me.cpu_secs) / secs;
    let d = b.scrape.since(&a.scrape);
    let c = |k: &str| d.get(&format!("voicegw_media_{k}_total"));
    let gateway_lost = c("dropped_late") + c("audio_frames_dropped") + c("control_events_lost");
    let f = findings.lock().unwrap_or_else(|e| e.into_inner());
    let gaps = in_window(&f.response_gap, a.sim_ms, b.sim_ms);
    let fixed = (delays.vad_hangover_ms
        + delays.endpointing_ms
        + delays.stt_final_ms
        + delays.tts_first_audio_ms) as f64;
    let added: Vec<f64> = gaps.iter().map(|g| g - fixed).collect();
    let barge = in_window(&f.barge_in, a.sim_ms, b.sim_ms);
    let unanswered = f
        .unanswered
        .iter()
        .filter(|t| (a.sim_ms..b.sim_ms).contains(t))
        .count();
    json!({
        "calls": calls,
        "calls_live": b.scrape.get("voicegw_media_legs_open"),
        "window_secs": round2(secs),
        "gateway": {
            "cpu_cores": (gw_cores * 1000.0).round() / 1000.0,
            "cpu_per_call_pct_of_core": (gw_cores * 100.0 / n * 10_000.0).round() / 10_000.0,
            "rss_mib": round2(b.gw.rss_kib as f64 / 1024.0),
            "rss_per_call_kib": round2(b.gw.rss_kib.saturating_sub(base.rss_kib) as f64 / n),
            "fds": b.gw.fds,
            "threads": b.gw.threads,
        },
        // Busy cores of the whole machine minus the gateway and the load
        // generator: other work sharing the two cores during the window.
        "other_processes_cpu_cores": round2(
            ((b.machine.0 - a.machine.0) as f64 / ((b.machine.1 - a.machine.1).max(1)) as f64)
                * cpus
                - gw_cores
                - me_cores,
        ),
        "loadgen": {
            "cpu_cores": round2(me_cores),
            "rss_mib": round2(b.me.rss_kib as f64 / 1024.0),
        },
        // Judged: lateness by the kernel's receive stamp, what the gateway put on the wire.
        "jitter_grid": {
            "packets": pacing.grid.count(),
            "kernel_stamped": pacing.kernel_stamped,
            "p50_ms": pacing.grid.quantile_ms(0.5),
            "p99_ms": pacing.grid.quantile_ms(0.99),
            "max_ms": pacing.grid.max_ms(),
        },
        // Not judged: the same by when the load generator's task read each packet, and
        // that task's own delay after the kernel had the packet.
        "jitter_grid_app": quantiles(&pacing.grid_read),
        "loadgen_rx_delay": quantiles(&pacing.read_delay),
        "jitter_spacing": quantiles(&pacing.gaps),
        "loss": {
            "gateway_lost": gateway_lost + (b.udp_errors - a.udp_errors) as f64,
            "jitter_buffer_dropped_late": c("dropped_late"),
            "audio_frames_dropped": c("audio_frames_dropped"),
            "control_events_lost": c("control_events_lost"),
            "kernel_udp_rcvbuf_errors": b.udp_errors - a.udp_errors,
            "late_sends": c("late_sends"),
            "underruns": c("underruns"),
            "packets_in": c("packets_in"),
            "packets_out": c("packets_out"),
            "caller_received": pacing.packets,
            "caller_seq_gaps": pacing.lost,
        },
        "turn": {
            "response_gap": summary(gaps),
            "fixed_delays_ms": fixed,
            "gateway_added": summary(added),
            "unanswered": unanswered,
        },
        "barge_in": summary(barge),
    })
}
