//! The benchmark's flow: simulator and gateway up, baseline, steps (or the
//! soak), teardown and the return to baseline, then the report.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::JoinSet;
use vg_asterisk_sim::{SimConfig, SimHandle, Simulator};

use crate::caller::{self, Findings, Script};
use crate::figures::{Targets, highest_passing, misses};
use crate::gateway::{FakeDelays, Gateway};
use crate::procfs::{ProcSample, clock_ticks, sample};
use crate::window::{Probe, inside_figures, step_figures};
use crate::{CallerMedia, Cli};

type Io<T> = std::io::Result<T>;

/// Calls in flight and what they need.
pub(crate) struct Calls {
    pub(crate) sim: Arc<SimHandle>,
    pub(crate) set: JoinSet<()>,
    pub(crate) findings: Arc<Mutex<Findings>>,
    pub(crate) stop: watch::Sender<bool>,
    pub(crate) voice: Arc<Vec<i16>>,
    pub(crate) script: Script,
    pub(crate) placed: u64,
}

impl Calls {
    /// Places `n` more calls at `per_sec`.
    pub(crate) async fn add(&mut self, n: u64, per_sec: u64) {
        let batch = per_sec.div_ceil(10).max(1);
        for i in 0..n {
            self.placed += 1;
            self.set.spawn(caller::run(
                Arc::clone(&self.sim),
                self.placed,
                self.script,
                Arc::clone(&self.voice),
                Arc::clone(&self.findings),
                self.stop.subscribe(),
            ));
            if (i + 1) % batch == 0 {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

pub(crate) async fn wait_until(what: &str, secs: u64, mut cond: impl FnMut() -> bool) -> Io<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !cond() {
        if tokio::time::Instant::now() > deadline {
            return Err(std::io::Error::other(format!(
                "timed out waiting for {what}"
            )));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

pub(crate) fn legs(gw: &Gateway) -> f64 {
    gw.scrape()
        .map_or(-1.0, |s| s.get("voicegw_media_legs_open"))
}

/// Runs each caller model of the command line; two run one after the other
/// in child processes (a fresh simulator and gateway each, and the gateway
/// at normal priority; with `--nice` the load generator renices itself once
/// it is up).
pub(crate) async fn main(cli: Cli) -> Io<()> {
    let models = cli.models();
    if let [model] = models[..] {
        let out = one_model(&cli, model).await?;
        return match &cli.model_json {
            Some(path) => std::fs::write(path, serde_json::to_string_pretty(&out)? + "\n"),
            None => crate::report::write(&cli, &out),
        };
    }
    let mut runs = serde_json::Map::new();
    for model in models {
        runs.insert(model.as_str().into(), in_child(&cli, model)?);
    }
    crate::report::write(&cli, &crate::report::merged(runs))
}

/// This load generator again, for one model; its JSON.
fn in_child(cli: &Cli, model: CallerMedia) -> Io<Value> {
    let json = cli.out.join(format!(
        ".loadgen-{}-{}.json",
        std::process::id(),
        model.as_str()
    ));
    std::fs::create_dir_all(&cli.out)?;
    eprintln!("== caller model: {} ==", model.as_str());
    let status = std::process::Command::new(std::env::current_exe()?)
        .args(child_args(std::env::args_os().skip(1), model, &json))
        .status()?;
    if !status.success() {
        return Err(std::io::Error::other(format!(
            "the {} run exited with {status}",
            model.as_str()
        )));
    }
    let text = std::fs::read_to_string(&json)?;
    std::fs::remove_file(&json)?;
    Ok(serde_json::from_str(&text)?)
}

/// `args` without `--caller-media`, then the one model and where its JSON goes.
pub(crate) fn child_args(
    args: impl Iterator<Item = std::ffi::OsString>,
    model: CallerMedia,
    json: &std::path::Path,
) -> Vec<std::ffi::OsString> {
    let mut out = Vec::new();
    let mut args = args.peekable();
    while let Some(a) = args.next() {
        if a == "--caller-media" {
            args.next();
        } else if !a.to_string_lossy().starts_with("--caller-media=") {
            out.push(a);
        }
    }
    out.extend([
        "--caller-media".into(),
        model.as_str().into(),
        "--model-json".into(),
        json.into(),
    ]);
    out
}

async fn one_model(cli: &Cli, model: CallerMedia) -> Io<Value> {
    let sim = Arc::new(
        Simulator::start(SimConfig {
            record_payloads: false,
            record_packets: false,
            continuous_media: model == CallerMedia::Continuous,
            caller_sends_silence: false,
            media_shards: cli.media_shards,
            ..SimConfig::default()
        })
        .await?,
    );
    let delays = FakeDelays {
        stt_final_ms: cli.stt_final_ms,
        tts_first_audio_ms: cli.tts_first_audio_ms,
        endpointing_ms: cli.endpointing_ms,
        vad_hangover_ms: cli.vad_hangover_ms,
        transport: cli.transport,
    };
    let gw = Gateway::start(&cli.gateway, &sim.base_url(), delays).await?;
    // After the gateway was spawned, so that it keeps the normal priority.
    crate::procfs::renice_self(cli.nice);
    wait_until("the gateway's events socket", 30, || {
        sim.app_connected("voice-gateway")
    })
    .await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let probe = Probe {
        sim: &sim,
        gw: &gw,
        ticks: clock_ticks(),
    };
    let base = probe.mark()?;
    eprintln!("baseline: gateway {:?}", base.gw);
    let (stop, _) = watch::channel(false);
    let script = Script {
        think_ms: (1500, 3500),
        utter_ms: 1000,
        barge_every: cli.barge_every,
        barge_after_ms: 400,
        lifetime_ms: None,
    };
    let mut calls = Calls {
        sim: Arc::clone(&sim),
        set: JoinSet::new(),
        findings: Arc::default(),
        stop,
        voice: Arc::new(caller::speech(script.utter_ms)),
        script,
        placed: 0,
    };
    let mut out = json!({
        "date": crate::report::today(),
        "machine": crate::report::machine(),
        "config": {
            "transport": cli.transport.as_str(),
            "arrival_timing": match cli.transport {
                crate::Transport::Websocket => "read time (no kernel stamp through the WebSocket stack)",
                _ => "kernel receive stamp (SO_TIMESTAMPNS)",
            },
            "step_secs": cli.step_secs, "settle_secs": cli.settle_secs,
            "fake_stt_final_ms": cli.stt_final_ms, "fake_tts_first_audio_ms": cli.tts_first_audio_ms,
            "endpointing_ms": cli.endpointing_ms, "vad_hangover_ms": cli.vad_hangover_ms, "barge_every": cli.barge_every,
            "utterance_ms": script.utter_ms, "think_ms": script.think_ms, "barge_after_ms": script.barge_after_ms, "loadgen_nice": cli.nice, "caller_media": match model { CallerMedia::Continuous => "continuous (a packet every 20 ms for the whole call)", _ => "talkspurt (while talking, Asterisk two-party bridge)" },
        },
        "baseline": proc_json(&base.gw),
    });
    if cli.soak_calls > 0 {
        crate::soak::run(cli, &probe, &base, &mut calls, delays, &mut out).await?;
    } else {
        let steps = ramp(cli, &probe, &base.gw, &mut calls, delays).await?;
        out["highest_passing_calls"] = json!(highest_passing(&steps));
        out["steps"] = Value::Array(steps);
    }
    // Everyone hangs up; the gateway must give back what the calls took.
    let _ = calls.stop.send(true);
    while calls.set.join_next().await.is_some() {}
    wait_until("every call to end", 120, || {
        gw.scrape().is_ok_and(|s| {
            s.get("voicegw_media_legs_open") == 0.0 && s.get("voicegw_live_calls") == 0.0
        })
    })
    .await?;
    let fd_slack = 8 + 2; // the ARI client's idle pool (8) and the events socket
    let settled = wait_until("descriptors and threads back to baseline", 60, || {
        sample(gw.pid(), probe.ticks)
            .is_some_and(|s| s.fds <= base.gw.fds + fd_slack && s.threads <= base.gw.threads)
    })
    .await;
    let after = probe.mark()?;
    out["after"] = proc_json(&after.gw);
    out["returned_to_baseline"] = json!(settled.is_ok());
    out["inside_gateway"] = inside_figures(&after.scrape_since(&base));
    // Does the allocator give the calls' memory back once they are gone?
    eprintln!("calls ended; RSS again in {} s", cli.idle_secs);
    tokio::time::sleep(Duration::from_secs(cli.idle_secs)).await;
    let idle = sample(gw.pid(), probe.ticks)
        .ok_or_else(|| std::io::Error::other("gateway process gone"))?;
    out["rss"] = rss_figures(&out, &base.gw, &after.gw, &idle, cli.idle_secs);
    gw.stop(Duration::from_secs(30)).await?;
    Ok(out)
}

/// RSS at the baseline, its peak over the steps (or soak samples), right
/// after the calls ended and `idle_secs` later.
fn rss_figures(
    out: &Value,
    base: &ProcSample,
    after: &ProcSample,
    idle: &ProcSample,
    idle_secs: u64,
) -> Value {
    let mib = |kib: u64| (kib as f64 / 1024.0 * 100.0).round() / 100.0;
    let peak = out["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(
            out.pointer("/soak/samples")
                .and_then(Value::as_array)
                .into_iter()
                .flatten(),
        )
        .filter_map(|s| {
            s.pointer("/gateway/rss_mib")
                .or(s.get("rss_mib"))
                .and_then(Value::as_f64)
        })
        .fold(mib(after.rss_kib), f64::max);
    let over = (idle.rss_kib as f64 / base.rss_kib.max(1) as f64 - 1.0) * 100.0;
    json!({
        "baseline_mib": mib(base.rss_kib),
        "peak_mib": peak,
        "after_calls_ended_mib": mib(after.rss_kib),
        "idle_secs": idle_secs,
        "after_idle_mib": mib(idle.rss_kib),
        "after_idle_vs_baseline_pct": (over * 10.0).round() / 10.0,
    })
}

pub(crate) fn proc_json(p: &ProcSample) -> Value {
    json!({ "fds": p.fds, "threads": p.threads, "rss_mib": (p.rss_kib as f64 / 1024.0 * 100.0).round() / 100.0 })
}

async fn ramp(
    cli: &Cli,
    probe: &Probe<'_>,
    base: &ProcSample,
    calls: &mut Calls,
    delays: FakeDelays,
) -> Io<Vec<Value>> {
    let mut steps = Vec::new();
    for &n in &cli.steps {
        eprintln!("step {n}: ramping from {}", calls.placed);
        calls.add(n - calls.placed, cli.ramp_per_sec).await;
        let up = wait_until(&format!("{n} media legs"), 60 + n / 20, || {
            legs(probe.gw) >= n as f64
        })
        .await;
        if let Err(e) = up {
            eprintln!("step {n}: {e}; measuring what is up");
        }
        tokio::time::sleep(Duration::from_secs(cli.settle_secs)).await;
        let a = probe.mark()?;
        let _ = probe.sim.take_pacing();
        tokio::time::sleep(Duration::from_secs(cli.step_secs)).await;
        let pacing = probe.sim.take_pacing();
        let b = probe.mark()?;
        let mut fig = step_figures(n, base, &a, &b, &pacing, &calls.findings, delays);
        let missed = misses(&fig, Targets::default());
        fig["pass"] = json!(missed.is_empty());
        fig["misses"] = json!(missed);
        eprintln!("step {n}: {fig}");
        steps.push(fig);
    }
    Ok(steps)
}
