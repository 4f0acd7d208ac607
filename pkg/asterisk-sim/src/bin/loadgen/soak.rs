//! Soak: a steady number of calls with churn (each call ends after a random
//! lifetime and a new one takes its place), watching memory and descriptors.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::Cli;
use crate::figures::{Targets, misses, round2};
use crate::gateway::FakeDelays;
use crate::procfs::sample;
use crate::run::{Calls, legs, wait_until};
use crate::window::{Mark, Probe, step_figures};

pub(crate) async fn run(
    cli: &Cli,
    probe: &Probe<'_>,
    base: &Mark,
    calls: &mut Calls,
    delays: FakeDelays,
    out: &mut Value,
) -> std::io::Result<()> {
    let (lo, hi) = crate::parse_range(&cli.soak_call_secs).map_err(std::io::Error::other)?;
    calls.script.lifetime_ms = Some((lo * 1000, hi * 1000));
    let n = cli.soak_calls;
    eprintln!(
        "soak: {n} calls for {} s, each lasting {lo}-{hi} s",
        cli.soak_secs
    );
    calls.add(n, cli.ramp_per_sec).await;
    wait_until(&format!("{n} media legs"), 60 + n / 20, || {
        legs(probe.gw) >= n as f64
    })
    .await?;
    tokio::time::sleep(Duration::from_secs(cli.settle_secs)).await;
    let a = probe.mark()?;
    let _ = probe.sim.take_pacing();
    let started = Instant::now();
    let every = Duration::from_secs((cli.soak_secs / 12).clamp(5, 60));
    let mut next_sample = started;
    let (mut samples, mut ended) = (Vec::new(), 0u64);
    while started.elapsed() < Duration::from_secs(cli.soak_secs) {
        // Churn: every call that ended is replaced at once.
        let mut gone = 0;
        while calls.set.try_join_next().is_some() {
            gone += 1;
        }
        ended += gone;
        calls.add(gone, cli.ramp_per_sec).await;
        if Instant::now() >= next_sample {
            next_sample += every;
            let s = sample(probe.gw.pid(), probe.ticks).unwrap_or_default();
            let p = json!({
                "t_secs": started.elapsed().as_secs(),
                "legs_open": legs(probe.gw),
                "calls_ended": ended,
                "rss_mib": round2(s.rss_kib as f64 / 1024.0),
                "fds": s.fds,
                "threads": s.threads,
            });
            eprintln!("soak: {p}");
            samples.push(p);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let pacing = probe.sim.take_pacing();
    let b = probe.mark()?;
    let mut fig = step_figures(n, &base.gw, &a, &b, &pacing, &calls.findings, delays);
    let missed = misses(&fig, Targets::default());
    fig["pass"] = json!(missed.is_empty());
    fig["misses"] = json!(missed);
    out["soak"] = json!({
        "calls": n,
        "secs": cli.soak_secs,
        "shortened": cli.soak_secs < 1800,
        "call_secs": [lo, hi],
        "calls_ended_and_replaced": ended,
        "growth": growth(&samples),
        "samples": samples,
        "figures": fig,
    });
    Ok(())
}

/// Last minus first sample after the first quarter (warm-up: allocator
/// pools and buffers reach their working size first).
fn growth(samples: &[Value]) -> Value {
    let from = samples.len() / 4;
    let (Some(a), Some(b)) = (samples.get(from), samples.last()) else {
        return Value::Null;
    };
    let d = |k: &str| round2(b[k].as_f64().unwrap_or(0.0) - a[k].as_f64().unwrap_or(0.0));
    json!({
        "from_t_secs": a["t_secs"], "to_t_secs": b["t_secs"],
        "rss_mib": d("rss_mib"), "fds": d("fds"), "threads": d("threads"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_skips_the_warm_up_quarter() {
        let s: Vec<Value> = [
            (0, 50.0, 600),
            (10, 60.0, 610),
            (20, 61.0, 612),
            (30, 61.5, 611),
        ]
        .iter()
        .map(|(t, r, f)| json!({"t_secs": t, "rss_mib": r, "fds": f, "threads": 6}))
        .collect();
        let g = growth(&s);
        assert_eq!(
            (g["from_t_secs"].as_u64(), g["rss_mib"].as_f64()),
            (Some(10), Some(1.5))
        );
        assert_eq!(g["fds"].as_f64(), Some(1.0));
        assert_eq!(growth(&[]), Value::Null);
    }
}
