//! `<out>/<date>-sip.json` (the figures the issue asks for, nothing else)
//! and `<out>/<date>-sip.md` (those with what they were measured under).

use crate::{args::Args, caller, step::StepResult};
use std::{
    fmt::Write as _,
    path::{Path, PathBuf},
    time::{SystemTime, UNIX_EPOCH},
};

/// Today's UTC date, `YYYY-MM-DD`.
pub(crate) fn today() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    civil_date((secs / 86_400) as i64)
}

/// Days since 1970-01-01 → `YYYY-MM-DD` (Howard Hinnant's civil_from_days).
fn civil_date(z: i64) -> String {
    let z = z + 719_468;
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

/// The JSON: `{"steps":[{"calls":N,"gateway_pct_core_per_call":x,…}]}`.
pub(crate) fn json(results: &[StepResult]) -> String {
    let steps: Vec<String> = results
        .iter()
        .map(|r| {
            format!(
                "{{\"calls\":{},\"gateway_pct_core_per_call\":{:.4},\"asterisk_pct_core_per_call\":{:.4},\
                 \"rss_kib_per_call\":{:.1},\"setup_failures\":{},\"turns_completed\":{},\"turns_expected\":{}}}",
                r.plan.calls,
                r.pct_core_per_call(r.gateway_cores),
                r.pct_core_per_call(r.asterisk_cores),
                r.rss_kib_per_call(),
                r.setup_failures,
                r.turns_completed,
                r.plan.turns_expected(),
            )
        })
        .collect();
    format!("{{\"steps\":[{}]}}\n", steps.join(","))
}

/// One line for the console.
pub(crate) fn line(r: &StepResult) -> String {
    format!(
        "{} calls: gateway {:.4} % of a core per call, Asterisk {:.4} %, RSS {:.1} KiB per call, \
         {} setup failures, {}/{} turns",
        r.plan.calls,
        r.pct_core_per_call(r.gateway_cores),
        r.pct_core_per_call(r.asterisk_cores),
        r.rss_kib_per_call(),
        r.setup_failures,
        r.turns_completed,
        r.plan.turns_expected()
    )
}

/// The limits a step could have run into, for the report.
pub(crate) struct Limits {
    /// Open files of this process, inherited by Asterisk, the gateway and SIPp.
    pub(crate) fd: u64,
    /// Asterisk's `rtp.conf` range.
    pub(crate) asterisk_rtp: (u16, u16),
}

/// The Markdown report.
pub(crate) fn markdown(results: &[StepResult], args: &Args, limits: &Limits) -> String {
    let mut s = format!(
        "# SIP benchmark {}: the gateway on the real Asterisk with SIPp callers\n\n\
         `make bench-sip` (`pkg/testkit/src/bin/bench-sip`). Asterisk 20 of the tests (chan_sip on \
         loopback, generated configuration), the gateway's release binary (a fresh one per step, fake \
         STT/TTS with their default delays, the built-in agent), SIPp 3.6 callers at {} new calls a \
         second. Each caller sends PCMU RTP every 20 ms for the whole call (silence too) from one \
         µ-law file: {} s of silence through the greeting, then per turn {} ms of speech \
         (a voiced tone, which the energy VAD and the fake recogniser take as speech) and silence up \
         to {} s; SIPp hangs up when the file ends. A turn is completed when a transcript \
         (`stt.transcribed`) is followed by the spoken reply (`tts.generated`) in the gateway's events.\n\n\
         CPU is user + system time from `/proc/<pid>/stat` over the window in which every call is up \
         ({} s after the last answer to {} s before the first hangup), as % of one core, divided by \
         the calls. RSS per call is the gateway's average RSS over that window less its RSS before \
         the calls. {} cores on this machine, shared with other work: see the load columns.\n\n",
        today(),
        args.rate,
        caller::LEAD.as_secs(),
        caller::SPEECH.as_millis(),
        caller::TURN.as_secs(),
        caller::MARGIN.as_secs(),
        caller::MARGIN.as_secs(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    s.push_str(
        "| calls | turns/call | gateway % core/call | Asterisk % core/call | gateway cores | Asterisk cores \
         | SIPp cores | machine busy | RSS KiB/call (gateway) | gateway RSS MiB before → during \
         | Asterisk RSS MiB before → during | setup failures | gateway answered/ended | SIPp ok/failed | turns completed/expected \
         | calls short of turns | window s |\n",
    );
    s.push_str(&"|---".repeat(17));
    s.push_str("|\n");
    for r in results {
        let mib = |k: u64| k as f64 / 1024.0;
        let sipp = r
            .sipp_calls
            .map_or("n/a".into(), |(ok, failed)| format!("{ok}/{failed}"));
        let _ = writeln!(
            s,
            "| {} | {} | {:.4} | {:.4} | {:.3} | {:.3} | {:.3} | {:.0} % | {:.1} | {:.1} → {:.1} \
             | {:.1} → {:.1} | {} | {}/{} | {} | {}/{} | {} | {:.1}{} |",
            r.plan.calls,
            r.plan.turns,
            r.pct_core_per_call(r.gateway_cores),
            r.pct_core_per_call(r.asterisk_cores),
            r.gateway_cores,
            r.asterisk_cores,
            r.sipp_cores,
            r.machine_busy * 100.0,
            r.rss_kib_per_call(),
            mib(r.gateway_rss.0),
            mib(r.gateway_rss.1),
            mib(r.asterisk_rss.0),
            mib(r.asterisk_rss.1),
            r.setup_failures,
            r.answered,
            r.ended,
            sipp,
            r.turns_completed,
            r.plan.turns_expected(),
            r.short_calls,
            r.window_secs,
            if r.window_clipped { " (clipped)" } else { "" },
        );
    }
    s.push_str(
        "\nCaller RTP as Asterisk received it (`sip show channelstats` at the window's end: \
         packets per second of each SIP channel's life; 50 = a packet every 20 ms):\n\n",
    );
    for r in results {
        let rate = r.rtp_per_sec.map_or("n/a".into(), |p| format!("{p:.1}"));
        let _ = writeln!(s, "- {} calls: {rate} packets/s per call", r.plan.calls);
    }
    s.push_str("\nLoad during each step's window (`uptime`):\n\n");
    for r in results {
        let _ = writeln!(s, "- {} calls: `{}`", r.plan.calls, r.uptime);
    }
    let (lo, hi) = limits.asterisk_rtp;
    let _ = writeln!(
        s,
        "\nLimits: chan_sip takes guests with no call limit (no `call-limit`, no `maxcalls` in \
         `asterisk.conf`); Asterisk's RTP ports {lo}-{hi} ({} ports, about 4 per call); the \
         gateway's {}-{}; open files {} for every process (about 10 per call needed).",
        u32::from(hi - lo) + 1,
        args.gateway_rtp.0,
        args.gateway_rtp.1,
        limits.fd,
    );
    for r in results.iter().filter(|r| r.asterisk_left > 0) {
        let _ = writeln!(
            s,
            "- {} calls: {} channels still on Asterisk 30 s after the gateway stopped",
            r.plan.calls,
            if r.asterisk_left == usize::MAX {
                "unknown".into()
            } else {
                r.asterisk_left.to_string()
            }
        );
    }
    s
}

/// Writes both files; their paths.
pub(crate) fn write(
    out: &Path,
    results: &[StepResult],
    args: &Args,
    limits: &Limits,
) -> std::io::Result<(PathBuf, PathBuf)> {
    std::fs::create_dir_all(out)?;
    let base = format!("{}-sip", today());
    let (json_path, md_path) = (
        out.join(format!("{base}.json")),
        out.join(format!("{base}.md")),
    );
    std::fs::write(&json_path, json(results))?;
    std::fs::write(&md_path, markdown(results, args, limits))?;
    Ok((json_path, md_path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caller::Plan;

    fn result() -> StepResult {
        StepResult {
            plan: Plan {
                calls: 200,
                turns: 5,
            },
            window_secs: 20.0,
            window_clipped: false,
            gateway_cores: 0.16,
            asterisk_cores: 0.5,
            sipp_cores: 0.1,
            machine_busy: 0.6,
            uptime: "load average: 1.00".into(),
            gateway_rss: (40_000, 60_000),
            asterisk_rss: (50_000, 80_000),
            answered: 200,
            ended: 200,
            setup_failures: 0,
            sipp_calls: Some((200, 0)),
            turns_completed: 998,
            short_calls: 2,
            rtp_per_sec: Some(50.0),
            asterisk_left: 0,
        }
    }

    #[test]
    fn the_json_has_exactly_the_asked_for_fields() {
        let v: serde_json::Value = serde_json::from_str(&json(&[result()])).unwrap();
        let step = &v["steps"][0];
        let keys: Vec<&String> = step.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 7, "{keys:?}");
        assert_eq!(step["calls"], 200);
        assert_eq!(step["gateway_pct_core_per_call"].as_f64(), Some(0.08));
        assert_eq!(step["asterisk_pct_core_per_call"].as_f64(), Some(0.25));
        assert_eq!(step["rss_kib_per_call"].as_f64(), Some(100.0));
        assert_eq!(step["turns_completed"], 998);
        assert_eq!(step["turns_expected"], 1000);
    }

    #[test]
    fn dates_are_civil() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(11_016), "2000-02-29");
        assert_eq!(civil_date(20_428), "2025-12-06");
    }
}
