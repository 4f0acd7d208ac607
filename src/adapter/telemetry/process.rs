//! Process figures read from `/proc/self` at scrape time.
//!
//! Read on demand rather than sampled by a task: a scrape every few seconds is
//! the only reader, and `/proc` reads are cheap.

/// A snapshot of this process's resource use. Fields are `None` where `/proc`
/// is not available (non-Linux); the metric is then left out, not faked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProcessStats {
    /// User + system CPU time.
    pub cpu_seconds: Option<f64>,
    /// Resident set size.
    pub resident_bytes: Option<u64>,
    /// Virtual memory size.
    pub virtual_bytes: Option<u64>,
    /// Open file descriptors.
    pub open_fds: Option<u64>,
    /// Soft limit of open file descriptors.
    pub max_fds: Option<u64>,
    /// OS threads.
    pub threads: Option<u64>,
    /// Start time, seconds since the Unix epoch.
    pub start_time_seconds: Option<f64>,
}

impl ProcessStats {
    /// Reads the current figures.
    pub fn read() -> Self {
        let mut s = Self::default();
        let ticks = 100.0; // USER_HZ is 100 on every Linux ABI that exists today.
        if let Ok(stat) = std::fs::read_to_string("/proc/self/stat") {
            // Fields after the parenthesised command name, which may hold spaces.
            if let Some(rest) = stat.rsplit_once(") ").map(|(_, r)| r) {
                let f: Vec<&str> = rest.split_whitespace().collect();
                let num = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok());
                // Indices are the proc(5) field numbers minus 3.
                if let (Some(u), Some(k)) = (num(11), num(12)) {
                    s.cpu_seconds = Some((u + k) as f64 / ticks);
                }
                s.threads = num(17);
                s.virtual_bytes = num(20);
                s.resident_bytes = num(21).map(|pages| pages * 4096);
                if let (Some(start), Some(boot)) = (num(19), boot_time()) {
                    s.start_time_seconds = Some(boot + start as f64 / ticks);
                }
            }
        }
        s.open_fds = std::fs::read_dir("/proc/self/fd")
            .ok()
            .map(|d| d.count() as u64);
        s.max_fds = std::fs::read_to_string("/proc/self/limits")
            .ok()
            .and_then(|l| {
                l.lines()
                    .find(|x| x.starts_with("Max open files"))
                    .and_then(|x| x.split_whitespace().nth(3))
                    .and_then(|v| v.parse().ok())
            });
        s
    }
}

fn boot_time() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let btime = stat
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse::<u64>()
        .ok()?;
    Some(btime as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{SystemTime, UNIX_EPOCH};

    #[test]
    #[cfg(target_os = "linux")]
    fn reads_this_process() {
        let s = ProcessStats::read();
        assert!(s.resident_bytes.unwrap() > 1024 * 1024);
        assert!(s.open_fds.unwrap() >= 3);
        assert!(s.threads.unwrap() >= 1);
        assert!(s.cpu_seconds.unwrap() >= 0.0);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let start = s.start_time_seconds.unwrap();
        assert!(
            start <= now + 1.0 && start > now - 86400.0 * 365.0,
            "start {start} now {now}"
        );
    }
}
