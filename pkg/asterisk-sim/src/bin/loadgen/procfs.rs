//! A process's resource use read from `/proc/<pid>/`, from the outside.

use std::path::Path;

/// One reading of a process.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct ProcSample {
    /// user + system CPU time so far, in seconds.
    pub(crate) cpu_secs: f64,
    /// Resident memory, in KiB.
    pub(crate) rss_kib: u64,
    /// Open file descriptors.
    pub(crate) fds: u64,
    /// Threads (kernel tasks).
    pub(crate) threads: u64,
}

/// Clock ticks per second of `/proc/<pid>/stat` (USER_HZ, 100 on every Linux
/// this runs on; `getconf CLK_TCK` says so when asked).
pub(crate) fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// utime + stime in ticks from the text of `/proc/<pid>/stat`. The command
/// name may hold spaces and parentheses, so fields are counted after the last `)`.
pub(crate) fn parse_stat_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3 of the whole line, utime 14, stime 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// `VmRSS` in KiB from the text of `/proc/<pid>/status`.
pub(crate) fn parse_status_rss(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

fn count_dir(p: &Path) -> u64 {
    std::fs::read_dir(p).map_or(0, |d| d.count() as u64)
}

/// Reads `pid` now (`None` once it is gone).
pub(crate) fn sample(pid: u32, ticks_per_sec: f64) -> Option<ProcSample> {
    let dir = Path::new("/proc").join(pid.to_string());
    let ticks = parse_stat_ticks(&std::fs::read_to_string(dir.join("stat")).ok()?)?;
    let rss = parse_status_rss(&std::fs::read_to_string(dir.join("status")).ok()?)?;
    Some(ProcSample {
        cpu_secs: ticks as f64 / ticks_per_sec,
        rss_kib: rss,
        fds: count_dir(&dir.join("fd")),
        threads: count_dir(&dir.join("task")),
    })
}

/// Machine-wide UDP receive errors (`Udp: InErrors RcvbufErrors` of
/// `/proc/net/snmp`): datagrams the kernel dropped because a socket was full.
pub(crate) fn udp_rcvbuf_errors() -> u64 {
    std::fs::read_to_string("/proc/net/snmp")
        .ok()
        .and_then(|t| parse_snmp_rcvbuf(&t))
        .unwrap_or(0)
}

/// `RcvbufErrors` from the text of `/proc/net/snmp`.
pub(crate) fn parse_snmp_rcvbuf(text: &str) -> Option<u64> {
    let mut udp = text.lines().filter(|l| l.starts_with("Udp:"));
    let (names, values) = (udp.next()?, udp.next()?);
    let i = names.split_whitespace().position(|n| n == "RcvbufErrors")?;
    values.split_whitespace().nth(i)?.parse().ok()
}

/// (busy, total) CPU time of the whole machine in ticks, from the `cpu` line
/// of `/proc/stat`: what else ran during a window shows in the difference.
pub(crate) fn machine_ticks() -> (u64, u64) {
    std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|t| parse_machine_ticks(&t))
        .unwrap_or((0, 0))
}

/// (busy, total) from the text of `/proc/stat`; idle and iowait are not busy.
pub(crate) fn parse_machine_ticks(text: &str) -> Option<(u64, u64)> {
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is inside user).
    let total: u64 = v.iter().take(8).sum();
    let idle = v.get(3)? + v.get(4).unwrap_or(&0);
    Some((total - idle, total))
}

/// Lowers the priority of every thread of this process to `nice` with
/// `renice` (Linux sets it per thread; threads created later inherit it).
/// Failure is reported and the run goes on at the normal priority.
pub(crate) fn renice_self(nice: u8) {
    if nice == 0 {
        return;
    }
    let tids: Vec<String> = match std::fs::read_dir("/proc/self/task") {
        Ok(dir) => dir
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect(),
        Err(e) => {
            eprintln!("loadgen: cannot list own threads ({e}); not reniced");
            return;
        }
    };
    let status = std::process::Command::new("renice")
        .args(["-n", &nice.to_string(), "-p"])
        .args(&tids)
        .stdout(std::process::Stdio::null())
        .status();
    match status {
        Ok(s) if s.success() => eprintln!("loadgen: {} threads at nice {nice}", tids.len()),
        Ok(s) => eprintln!("loadgen: renice exited with {s}; not reniced"),
        Err(e) => eprintln!("loadgen: renice not run ({e}); not reniced"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_after_the_command_name() {
        let stat = "4242 (voice gw (x)) S 1 4242 4242 0 -1 4194560 1000 0 0 0 \
                    1234 567 0 0 20 0 6 0 100 1000000 2000 18446744073709551615";
        assert_eq!(parse_stat_ticks(stat), Some(1801));
        assert_eq!(parse_stat_ticks("4242 (gw) S 1"), None);
        assert_eq!(parse_stat_ticks("no parenthesis"), None);
    }

    #[test]
    fn rss_and_udp_errors_are_read_from_their_tables() {
        let status = "Name:\tvoice-gateway\nVmPeak:\t  9000 kB\nVmRSS:\t   51234 kB\nThreads:\t6\n";
        assert_eq!(parse_status_rss(status), Some(51_234));
        assert_eq!(parse_status_rss("Name: x\n"), None);
        let snmp = "Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors\n\
                    Udp: 100 2 7 90 5 0\nUdpLite: InDatagrams\nUdpLite: 0\n";
        assert_eq!(parse_snmp_rcvbuf(snmp), Some(5));
    }

    #[test]
    fn machine_ticks_leave_out_idle_and_iowait() {
        let stat = "cpu  100 5 50 1000 20 3 2 0 0 0\ncpu0 50 2 25 500 10 1 1 0 0 0\n";
        assert_eq!(parse_machine_ticks(stat), Some((160, 1180)));
        assert_eq!(parse_machine_ticks("intr 1 2\n"), None);
    }

    #[test]
    fn this_process_can_be_read() {
        let me = sample(std::process::id(), clock_ticks()).expect("own /proc entry");
        assert!(me.rss_kib > 0 && me.fds > 0 && me.threads > 0, "{me:?}");
    }
}
