//! One step: a fresh gateway, `calls` SIPp callers ramped in at the given
//! rate, measured over the window in which every call is up, then drained.

use crate::{
    args::Args,
    caller::{MARGIN, Plan},
    events::Events,
    gateway::Gateway,
    procfs::{self, Sample},
    sipp::Sipp,
};
use std::{
    path::Path,
    time::{Duration, Instant},
};
use vg_testkit::AsteriskServer;

/// What one step measured.
#[derive(Debug, Clone)]
pub(crate) struct StepResult {
    pub(crate) plan: Plan,
    /// The steady window's length, and whether it had to overlap the ramp's
    /// end or the first hangups (the ramp took longer than planned).
    pub(crate) window_secs: f64,
    pub(crate) window_clipped: bool,
    /// Cores used over the window (1.0 = one core busy).
    pub(crate) gateway_cores: f64,
    pub(crate) asterisk_cores: f64,
    pub(crate) sipp_cores: f64,
    /// The whole machine's busy share (all cores) over the window.
    pub(crate) machine_busy: f64,
    /// `uptime` at the window's end.
    pub(crate) uptime: String,
    /// RSS before the calls and averaged over the window, KiB.
    pub(crate) gateway_rss: (u64, u64),
    pub(crate) asterisk_rss: (u64, u64),
    pub(crate) answered: u64,
    pub(crate) ended: u64,
    pub(crate) setup_failures: u64,
    /// SIPp's successful and failed calls (`None`: no statistics file).
    pub(crate) sipp_calls: Option<(u64, u64)>,
    pub(crate) turns_completed: u64,
    pub(crate) short_calls: u64,
    /// Caller RTP packets per second per SIP channel, as Asterisk counted
    /// them at the window's end (50 when every caller sends every 20 ms).
    pub(crate) rtp_per_sec: Option<f64>,
    /// Channels still on Asterisk 30 s after the gateway stopped.
    pub(crate) asterisk_left: usize,
}

impl StepResult {
    pub(crate) fn pct_core_per_call(&self, cores: f64) -> f64 {
        cores * 100.0 / f64::from(self.plan.calls)
    }

    pub(crate) fn rss_kib_per_call(&self) -> f64 {
        let (base, steady) = self.gateway_rss;
        steady.saturating_sub(base) as f64 / f64::from(self.plan.calls)
    }
}

/// Readings of the three processes and the machine at one instant.
struct Reading {
    at: Instant,
    gw: Sample,
    ast: Sample,
    sipp: Sample,
    machine: (u64, u64),
}

struct Pids {
    gw: u32,
    ast: u32,
    sipp: u32,
    ticks: f64,
}

impl Pids {
    fn read(&self) -> Reading {
        let s = |pid| procfs::sample(pid, self.ticks).unwrap_or_default();
        Reading {
            at: Instant::now(),
            gw: s(self.gw),
            ast: s(self.ast),
            sipp: s(self.sipp),
            machine: procfs::machine_ticks(),
        }
    }
}

pub(crate) fn run(
    ast: &AsteriskServer,
    sipp_bin: &Path,
    args: &Args,
    calls: u32,
) -> Result<StepResult, String> {
    let dir = tempfile::Builder::new()
        .prefix("vg-bench-sip.")
        .tempdir()
        .map_err(|e| e.to_string())?;
    let plan = Plan::new(calls, args.rate, args.turns);
    eprintln!(
        "bench-sip: step of {calls} calls at {}/s, {} turns in {:?} each (logs in {})",
        args.rate,
        plan.turns,
        plan.call_length(),
        dir.path().display()
    );
    let gw = Gateway::start(&args.gateway, dir.path(), ast, args.gateway_rtp)?;
    let mut events = Events::new(gw.events.clone());
    let ticks = procfs::clock_ticks();
    std::thread::sleep(MARGIN);
    let base = (
        procfs::sample(gw.proc.pid(), ticks).unwrap_or_default(),
        procfs::sample(ast.pid(), ticks).unwrap_or_default(),
    );
    let mut sipp = Sipp::start(sipp_bin, dir.path(), ast.sip_port(), &plan, args.rate)
        .map_err(|e| format!("sipp: {e}"))?;
    let pids = Pids {
        gw: gw.proc.pid(),
        ast: ast.pid(),
        sipp: sipp.proc.pid(),
        ticks,
    };
    let first = wait_all_answered(&mut events, &mut sipp, &plan, args.rate);
    let m = measure(&pids, &mut events, first, &plan);
    let rtp_per_sec = crate::rtpcheck::received_per_sec(ast);
    // SIPp hangs every call up at the end of its file, then exits.
    if !sipp
        .proc
        .wait_or_kill(plan.call_length() + Duration::from_secs(90))
    {
        eprintln!("bench-sip: SIPp did not finish; killed");
    }
    let ended_by = Instant::now() + Duration::from_secs(30);
    while events.ended() < events.answered() && Instant::now() < ended_by {
        std::thread::sleep(Duration::from_millis(250));
        let _ = events.poll();
    }
    let _ = events.poll();
    gw.stop();
    let asterisk_left = wait_asterisk_empty(ast);
    let answered = events.answered();
    let result = StepResult {
        plan,
        window_secs: m.window_secs,
        window_clipped: m.clipped,
        gateway_cores: m.cores.0,
        asterisk_cores: m.cores.1,
        sipp_cores: m.cores.2,
        machine_busy: m.machine_busy,
        uptime: m.uptime,
        gateway_rss: (base.0.rss_kib, m.rss.0),
        asterisk_rss: (base.1.rss_kib, m.rss.1),
        answered,
        ended: events.ended(),
        setup_failures: u64::from(calls).saturating_sub(answered),
        sipp_calls: sipp.counts(),
        turns_completed: events.turns(),
        short_calls: events.short_calls(plan.turns),
        rtp_per_sec,
        asterisk_left,
    };
    if result.setup_failures > 0 || result.short_calls > 0 || asterisk_left > 0 {
        eprintln!("bench-sip: logs kept in {}", dir.keep().display());
    }
    Ok(result)
}

/// Polls the events until every call of the step is answered (or the ramp
/// has taken twice its time and 30 s more, or SIPp gave up); returns when
/// the first was.
fn wait_all_answered(events: &mut Events, sipp: &mut Sipp, plan: &Plan, rate: u32) -> Instant {
    let started = Instant::now();
    let limit = Duration::from_secs_f64(2.0 * f64::from(plan.calls) / f64::from(rate) + 30.0);
    let mut first = None;
    while events.answered() < u64::from(plan.calls) && started.elapsed() < limit {
        if sipp.proc.exited() {
            eprintln!("bench-sip: SIPp exited during the ramp (see sipp.out)");
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
        let _ = events.poll();
        if first.is_none() && events.answered() > 0 {
            first = Some(Instant::now());
        }
    }
    eprintln!(
        "bench-sip: {} of {} calls answered after {:.1} s",
        events.answered(),
        plan.calls,
        started.elapsed().as_secs_f64()
    );
    first.unwrap_or(started)
}

struct Measured {
    window_secs: f64,
    clipped: bool,
    /// Gateway, Asterisk, SIPp.
    cores: (f64, f64, f64),
    machine_busy: f64,
    /// Gateway and Asterisk RSS averaged over the window.
    rss: (u64, u64),
    uptime: String,
}

/// From [`MARGIN`] after now to [`MARGIN`] before the first call hangs up
/// (at least 5 s, flagged as clipped if that overlaps the hangups).
fn measure(pids: &Pids, events: &mut Events, first: Instant, plan: &Plan) -> Measured {
    std::thread::sleep(MARGIN);
    let a = pids.read();
    let planned_end = first + plan.call_length() - MARGIN;
    let end = planned_end.max(a.at + Duration::from_secs(5));
    let (mut gw_rss, mut ast_rss, mut n) = (0u64, 0u64, 0u64);
    while Instant::now() < end {
        std::thread::sleep(Duration::from_secs(1).min(end - Instant::now()));
        let r = pids.read();
        (gw_rss, ast_rss, n) = (gw_rss + r.gw.rss_kib, ast_rss + r.ast.rss_kib, n + 1);
        let _ = events.poll();
    }
    let b = pids.read();
    let secs = (b.at - a.at).as_secs_f64();
    let cores = |x: Sample, y: Sample| (y.cpu_secs - x.cpu_secs) / secs;
    let (busy, total) = (b.machine.0 - a.machine.0, b.machine.1 - a.machine.1);
    Measured {
        window_secs: secs,
        clipped: end > planned_end,
        cores: (
            cores(a.gw, b.gw),
            cores(a.ast, b.ast),
            cores(a.sipp, b.sipp),
        ),
        machine_busy: busy as f64 / total.max(1) as f64,
        rss: (gw_rss / n.max(1), ast_rss / n.max(1)),
        uptime: uptime(),
    }
}

fn uptime() -> String {
    std::process::Command::new("uptime")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|_| format!("load average {:.2}", procfs::loadavg()))
}

/// Waits until Asterisk holds no channel; how many are left after 30 s.
fn wait_asterisk_empty(ast: &AsteriskServer) -> usize {
    let mut left = usize::MAX;
    vg_testkit::wait_until(Duration::from_secs(30), || {
        left = ast.channels().map_or(usize::MAX, |c| c.len());
        left == 0
    });
    left
}
