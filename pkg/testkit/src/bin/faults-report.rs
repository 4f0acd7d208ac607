//! Gathers the fault scenarios of a full run (`make bench-faults`) into
//! `<out>/<date>-faults.json` and `<out>/<date>-faults.md`.
//!
//! ```text
//! faults-report FRAGMENT_DIR OUT_DIR
//! ```

use std::{path::PathBuf, process::ExitCode};

use vg_testkit::faults::{read_fragments, report_json, report_md, today};

fn main() -> ExitCode {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [fragments, out] = args.as_slice() else {
        eprintln!("usage: faults-report FRAGMENT_DIR OUT_DIR");
        return ExitCode::from(2);
    };
    let outcomes = match read_fragments(fragments) {
        Ok(o) if o.is_empty() => {
            eprintln!("faults-report: no scenario in {}", fragments.display());
            return ExitCode::FAILURE;
        }
        Ok(o) => o,
        Err(e) => {
            eprintln!("faults-report: {e}");
            return ExitCode::FAILURE;
        }
    };
    let date = today();
    let json = report_json(&outcomes, machine());
    let base = out.join(format!("{date}-faults"));
    let written = std::fs::write(base.with_extension("json"), format!("{json:#}\n"))
        .and_then(|()| std::fs::write(base.with_extension("md"), report_md(&date, &outcomes)));
    if let Err(e) = written {
        eprintln!("faults-report: writing {}: {e}", base.display());
        return ExitCode::FAILURE;
    }
    println!("{}", report_md(&date, &outcomes));
    if outcomes.iter().all(|o| o.is_whole()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// What the run was on; the load average shows other work on the machine.
fn machine() -> serde_json::Value {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    serde_json::json!({
        "cpus": std::thread::available_parallelism().map_or(0, usize::from),
        "kernel": read("/proc/sys/kernel/osrelease").trim(),
        "loadavg_at_end": read("/proc/loadavg").trim(),
    })
}
