//! Outages for tests: kill a [`PostgresServer`] the hard way and bring it back
//! on the same port with the same data, as a crashed database restarts.

use crate::{
    HarnessError, PostgresServer,
    net::wait_until,
    postgres::{as_owner, bin_dir, is_ready, run_as},
    process::Guard,
};
use std::{process::Command, time::Duration};

impl PostgresServer {
    /// Sends SIGKILL to the server and waits until it is gone. Its backends
    /// notice the postmaster's death and exit on their own; clients see their
    /// connections drop.
    pub fn kill(&mut self) -> Result<(), HarnessError> {
        Command::new("kill")
            .args(["-KILL", &self.process.pid().to_string()])
            .status()?;
        if wait_until(Duration::from_secs(10), || self.process.exited()) {
            Ok(())
        } else {
            Err(HarnessError::Start {
                program: "postgres".into(),
                reason: "still running 10 s after SIGKILL".into(),
            })
        }
    }

    /// Starts the server again on the same port and data directory (after
    /// [`kill`](Self::kill)), running crash recovery; waits until it answers.
    pub fn restart(&mut self) -> Result<(), HarnessError> {
        let bin = bin_dir()?;
        let dir = self._dir.path().to_path_buf();
        let mut last = String::new();
        // The killed server's backends may hold its shared memory for a moment:
        // the new postmaster refuses to start until they are gone, so retry.
        for attempt in 0..20 {
            let mut cmd = Command::new(bin.join("postgres"));
            cmd.arg("-D")
                .arg(dir.join("data"))
                .args(["-p", &self.port.to_string(), "-k"])
                .arg(&dir)
                .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"]);
            as_owner(&mut cmd, run_as());
            let log = dir.join(format!("postgres-restart-{attempt}.log"));
            let mut process = Guard::spawn(cmd, &log)?;
            let port = self.port;
            let up = wait_until(Duration::from_secs(30), || {
                process.exited() || is_ready(&bin, port)
            });
            if up && !process.exited() {
                self.process = process;
                return Ok(());
            }
            last = process.log_tail();
            // A short pause between attempts (a backoff, not a synchronisation).
            wait_until(Duration::from_millis(200), || false);
        }
        Err(HarnessError::Start {
            program: "postgres (restart)".into(),
            reason: last,
        })
    }
}
