//! Processes this program starts, and what `/proc` says about them.

use std::{
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// A child process, killed and reaped on drop if it is still running.
pub(crate) struct Proc {
    child: Child,
}

impl Proc {
    /// Starts `cmd` with stdout and stderr into `log`.
    pub(crate) fn spawn(mut cmd: Command, log: &Path) -> std::io::Result<Self> {
        let out = std::fs::File::create(log)?;
        let err = out.try_clone()?;
        let child = cmd.stdin(Stdio::null()).stdout(out).stderr(err).spawn()?;
        Ok(Self { child })
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether it has exited.
    pub(crate) fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// Waits up to `within` for it to exit by itself; kills it after that.
    /// Whether it exited by itself.
    pub(crate) fn wait_or_kill(&mut self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if self.exited() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        false
    }

    /// SIGTERM (a graceful stop), then [`Self::wait_or_kill`].
    pub(crate) fn stop(&mut self, within: Duration) -> bool {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
        self.wait_or_kill(within)
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if !self.exited() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// One reading of a process.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Sample {
    /// user + system CPU time so far, in seconds.
    pub(crate) cpu_secs: f64,
    /// Resident memory, in KiB.
    pub(crate) rss_kib: u64,
}

/// Clock ticks per second of `/proc/<pid>/stat` (USER_HZ).
pub(crate) fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// Reads `pid` now (`None` once it is gone).
pub(crate) fn sample(pid: u32, ticks_per_sec: f64) -> Option<Sample> {
    let dir = Path::new("/proc").join(pid.to_string());
    let ticks = stat_ticks(&std::fs::read_to_string(dir.join("stat")).ok()?)?;
    let rss = status_rss(&std::fs::read_to_string(dir.join("status")).ok()?)?;
    Some(Sample {
        cpu_secs: ticks as f64 / ticks_per_sec,
        rss_kib: rss,
    })
}

/// utime + stime in ticks from `/proc/<pid>/stat`, counted after the last
/// `)` because the command name may hold spaces and parentheses.
fn stat_ticks(stat: &str) -> Option<u64> {
    let fields: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// `VmRSS` in KiB from `/proc/<pid>/status`.
fn status_rss(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// (busy, total) ticks of the whole machine from `/proc/stat`.
pub(crate) fn machine_ticks() -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = text.lines().find(|l| l.starts_with("cpu ")) else {
        return (0, 0);
    };
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
    let total: u64 = v.iter().sum();
    (total - idle, total)
}

/// The 1-minute load average (`/proc/loadavg`).
pub(crate) fn loadavg() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|t| t.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN)
}

/// Asterisk, the gateway and SIPp inherit this process's descriptor limit:
/// about 10 per call for Asterisk (RTP and RTCP sockets of two channels,
/// timers, pipes), a few for the gateway. The limit, or what to do if it is
/// too low.
pub(crate) fn check_fd_limit(calls: u32) -> Result<u64, String> {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let soft = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3)?.parse::<u64>().ok());
    let need = u64::from(calls) * 10 + 1024;
    match soft {
        Some(soft) if soft < need => Err(format!(
            "open-file limit {soft} is below the {need} that {calls} calls need: \
             run with `ulimit -n {need}` (make bench-sip raises it to the hard limit)"
        )),
        Some(soft) => Ok(soft),
        None => Err("cannot read the open-file limit from /proc/self/limits".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_and_status_are_parsed() {
        let stat = "42 (a (b) c) S 1 42 42 0 -1 4194560 1000 0 0 0 1234 567 0 0 20 0 6 0";
        assert_eq!(stat_ticks(stat), Some(1801));
        assert_eq!(stat_ticks("42 (x) S 1"), None);
        assert_eq!(status_rss("Name:\tx\nVmRSS:\t  51234 kB\n"), Some(51_234));
        assert_eq!(status_rss("Name:\tx\n"), None);
    }

    #[test]
    fn this_process_can_be_read() {
        let me = sample(std::process::id(), clock_ticks()).unwrap();
        assert!(me.rss_kib > 0);
        let (busy, total) = machine_ticks();
        assert!(total > 0 && busy <= total);
    }
}
