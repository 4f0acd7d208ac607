//! Results: `<date>-load.json` (or `-soak.json`), a Markdown report and, for
//! the ramp, an SVG plot of CPU per call and p99 jitter against calls.

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::Cli;

/// Today's date (UTC), `YYYY-MM-DD`.
pub(crate) fn today() -> String {
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400);
    civil_date(days as i64)
}

/// Days since 1970-01-01 → `YYYY-MM-DD` (Howard Hinnant's civil_from_days).
pub(crate) fn civil_date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// What the figures were measured on (the load average shows other work).
pub(crate) fn machine() -> Value {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let cpu = read("/proc/cpuinfo");
    json!({
        "cpus": std::thread::available_parallelism().map_or(0, usize::from),
        "cpu_model": cpu.lines().find_map(|l| l.strip_prefix("model name")).map(|m| m.trim_start_matches([' ', '\t', ':'])),
        "kernel": read("/proc/sys/kernel/osrelease").trim(),
        "loadavg_at_start": read("/proc/loadavg").trim(),
    })
}

/// One JSON of the runs of several caller models (`{"models": {name: run}}`),
/// the first one's highest passing step on top.
pub(crate) fn merged(runs: serde_json::Map<String, Value>) -> Value {
    let highest: serde_json::Map<String, Value> = runs
        .iter()
        .map(|(k, v)| (k.clone(), v["highest_passing_calls"].clone()))
        .collect();
    json!({
        "date": today(),
        "machine": machine(),
        "caller_models": runs.keys().collect::<Vec<_>>(),
        "highest_passing_calls": highest,
        "models": runs,
    })
}

/// Writes the JSON and the report; prints where they are.
pub(crate) fn write(cli: &Cli, out: &Value) -> std::io::Result<()> {
    std::fs::create_dir_all(&cli.out)?;
    let kind = if out.get("soak").is_some() {
        "soak"
    } else {
        "load"
    };
    let stem = cli.out.join(format!(
        "{}-{kind}",
        out["date"].as_str().unwrap_or("today")
    ));
    let json_path = stem.with_extension("json");
    std::fs::write(&json_path, serde_json::to_string_pretty(out)? + "\n")?;
    let runs: Vec<(String, &Value)> = match out["models"].as_object() {
        Some(m) => m.iter().map(|(k, v)| (format!("-{k}"), v)).collect(),
        None => vec![(String::new(), out)],
    };
    let mut md = String::new();
    if runs.len() > 1 {
        let _ = writeln!(
            md,
            "# Gateway capacity benchmark, {}: continuous and talkspurt-only callers\n\nMachine: {}\n\nHighest step meeting the targets, by caller model: {}\n",
            cell(&out["date"]),
            out["machine"],
            out["highest_passing_calls"]
        );
    }
    for (suffix, run) in runs {
        let mut part = markdown(run);
        if out.get("models").is_some() {
            // One section per model under the common title.
            part = part.replacen("# Gateway capacity benchmark", "## Callers' RTP", 1);
            part = part.replacen(
                &format!(", {}\n", cell(&run["date"])),
                &format!(": {}\n", cell(&run["config"]["caller_media"])),
                1,
            );
        }
        md.push_str(&part);
        let Some(steps) = run["steps"].as_array() else {
            continue;
        };
        let svg = std::path::PathBuf::from(format!("{}{suffix}.svg", stem.display()));
        std::fs::write(&svg, crate::svg::plot(steps))?;
        let name = svg.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let _ = writeln!(
            md,
            "\n![CPU per call and p99 jitter against concurrent calls]({name})\n"
        );
        println!(
            "highest step meeting the targets{suffix}: {} calls",
            run["highest_passing_calls"]
        );
    }
    std::fs::write(stem.with_extension("md"), md)?;
    println!("results: {}", json_path.display());
    Ok(())
}

fn cell(v: &Value) -> String {
    match v {
        Value::Null => "–".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One table row per step (or the soak's one figure set).
fn row(s: &Value) -> String {
    let g = |p: &str| cell(s.pointer(p).unwrap_or(&Value::Null));
    format!(
        "| {} | {} | {} | {} | {} | {} / {} / {} | {} / {} | {} | {} / {} | {} / {} | {} | {} | {} |",
        g("/calls"),
        g("/calls_live"),
        g("/gateway/cpu_cores"),
        g("/gateway/cpu_per_call_pct_of_core"),
        g("/gateway/rss_per_call_kib"),
        g("/jitter_grid/p50_ms"),
        g("/jitter_grid/p99_ms"),
        g("/jitter_grid/max_ms"),
        g("/jitter_grid_app/p99_ms"),
        g("/loadgen_rx_delay/p99_ms"),
        g("/loss/gateway_lost"),
        g("/turn/gateway_added/p50_ms"),
        g("/turn/gateway_added/p99_ms"),
        g("/barge_in/p50_ms"),
        g("/barge_in/p99_ms"),
        g("/loadgen/cpu_cores"),
        g("/other_processes_cpu_cores"),
        if s["pass"] == true {
            "yes".to_string()
        } else {
            format!(
                "no: {}",
                s["misses"]
                    .as_array()
                    .map(|m| m.iter().map(cell).collect::<Vec<_>>().join("; "))
                    .unwrap_or_default()
            )
        },
    )
}

const HEADER: &str = "| calls | up | gateway CPU (cores) | CPU/call (% of a core) | RSS/call (KiB) | jitter p50 / p99 / max (ms) | jitter p99 at loadgen read / loadgen rx delay p99 (ms) | lost in gateway | turn added p50 / p99 (ms) | barge-in p50 / p99 (ms) | loadgen CPU (cores) | other processes (cores) | meets targets |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";

/// Which jitter figure is judged, and what the other one is.
const JITTER_NOTE: &str = "Jitter is each packet's (or AudioSocket/WebSocket frame's) lateness against its talkspurt's 20 ms grid, timed by the kernel's receive stamp (`SO_TIMESTAMPNS`) on the simulated caller's socket: what the gateway put on the wire. Over AudioSocket a TCP read carries the stamp of the newest segment it took: a frame is stamped by its own header's read, but one that waited a whole frame unread may carry the next one's stamp (an overstatement, never more than the read time). Over the WebSocket frames are timed when read. That figure is the one judged. \"At loadgen read\" is the same lateness timed when the load generator's task read the packet, and \"loadgen rx delay\" the time from the kernel stamp to that read: the load generator's own share, as it shares the cores with the gateway.";

/// A warning when some packets came without a kernel stamp (timed when read instead).
fn unstamped(out: &Value) -> String {
    let figs = out["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(out.pointer("/soak/figures"));
    let (mut all, mut stamped) = (0, 0);
    for f in figs {
        all += f
            .pointer("/loss/caller_received")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        stamped += f
            .pointer("/jitter_grid/kernel_stamped")
            .and_then(Value::as_u64)
            .unwrap_or(0);
    }
    if stamped < all {
        format!(
            " Only {stamped} of {all} packets came with a kernel stamp; the others were timed when read, so their jitter includes the load generator's delay."
        )
    } else {
        String::new()
    }
}

/// The Markdown report.
pub(crate) fn markdown(out: &Value) -> String {
    let mut md = String::new();
    let soak = out.get("soak");
    let _ = writeln!(
        md,
        "# Gateway {} benchmark, {}\n",
        if soak.is_some() { "soak" } else { "capacity" },
        cell(&out["date"])
    );
    let _ = writeln!(md, "Machine: {}\n", out["machine"]);
    let _ = writeln!(md, "Run: {}\n", out["config"]);
    let _ = write!(md, "{HEADER}");
    for s in out["steps"].as_array().into_iter().flatten() {
        let _ = writeln!(md, "{}", row(s));
    }
    if let Some(s) = soak {
        let _ = writeln!(md, "{}", row(&s["figures"]));
    }
    let _ = writeln!(md, "\n{JITTER_NOTE}{}", unstamped(out));
    if let Some(s) = soak {
        let _ = writeln!(
            md,
            "\nSoak{}: {} calls for {} s, each lasting {} s, {} calls ended and replaced.\nGrowth after the warm-up quarter: {}\n\nSamples: {}",
            if s["shortened"] == true {
                " (shortened)"
            } else {
                ""
            },
            s["calls"],
            s["secs"],
            s["call_secs"],
            s["calls_ended_and_replaced"],
            s["growth"],
            s["samples"]
        );
    }
    let _ = writeln!(
        md,
        "\nHighest step meeting the targets (p99 jitter < 5 ms, no gateway loss, barge-in p99 < 150 ms): **{}** calls.\n",
        cell(&out["highest_passing_calls"])
    );
    let _ = writeln!(
        md,
        "Descriptors and threads: baseline {}, after the calls ended {} (back to baseline: {}).\n\nThe gateway's own view over the run (`/metrics`, bucket upper bounds): {}\n",
        out["baseline"],
        out["after"],
        cell(&out["returned_to_baseline"]),
        out["inside_gateway"]
    );
    if let Some(r) = out.get("rss") {
        let _ = writeln!(
            md,
            "RSS: baseline {} MiB, peak {} MiB, when the calls had ended {} MiB, {} s later {} MiB ({:+} % of the baseline).\n",
            r["baseline_mib"],
            r["peak_mib"],
            r["after_calls_ended_mib"],
            r["idle_secs"],
            r["after_idle_mib"],
            r["after_idle_vs_baseline_pct"].as_f64().unwrap_or(f64::NAN)
        );
    }
    let _ = writeln!(
        md,
        "Per-step details are in the JSON file next to this one."
    );
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_the_report_table() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(20_513), "2026-03-01");
        assert_eq!(civil_date(11_016), "2000-02-29");
        let out = json!({
            "date": "2026-11-21", "highest_passing_calls": 500,
            "steps": [{"calls": 100, "calls_live": 100, "pass": true,
                       "gateway": {"cpu_per_call_pct_of_core": 0.05},
                       "jitter_grid": {"p99_ms": 0.4}}],
        });
        let md = markdown(&out);
        assert!(md.contains("| 100 | 100 | – | 0.05 |"), "{md}");
        assert!(md.contains("**500** calls"), "{md}");
        assert!(md.contains("kernel's receive stamp"), "{md}");
        assert!(!md.contains("Only"), "no packets, none unstamped: {md}");
        let mut partly = out.clone();
        partly["steps"][0]["loss"] = json!({"caller_received": 10});
        partly["steps"][0]["jitter_grid"]["kernel_stamped"] = json!(7);
        partly["steps"][0]["loadgen_rx_delay"] = json!({"p99_ms": 2.5});
        let md = markdown(&partly);
        assert!(md.contains("Only 7 of 10 packets"), "{md}");
        assert!(md.contains("0.4 / – | – / 2.5 |"), "{md}");
        let mut rss = out.clone();
        rss["rss"] = json!({"baseline_mib": 20.0, "peak_mib": 300.0, "after_calls_ended_mib": 90.0,
                            "idle_secs": 60, "after_idle_mib": 22.0, "after_idle_vs_baseline_pct": 10.0});
        let md = markdown(&rss);
        assert!(
            md.contains("60 s later 22.0 MiB (+10 % of the baseline)"),
            "{md}"
        );
        let both = merged(
            [("continuous", out.clone()), ("talkspurt", out)]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        );
        assert_eq!(both["caller_models"], json!(["continuous", "talkspurt"]));
        assert_eq!(both["highest_passing_calls"]["talkspurt"], json!(500));
    }
}
