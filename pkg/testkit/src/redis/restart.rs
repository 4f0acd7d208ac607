//! Outages for tests: kill a [`RedisServer`] the hard way and start a new one
//! on the same port, as a crashed Redis without persistence comes back
//! (empty).

use super::{RedisServer, ping, spawn};
use crate::{HarnessError, install::ensure_installed, net::wait_until};
use std::{process::Command, time::Duration};

impl RedisServer {
    /// Starts redis-server on `port` (e.g. the port of one that was killed).
    pub fn start_on(port: u16) -> Result<Self, HarnessError> {
        let bin = ensure_installed("redis-server", "redis-server", &[])?;
        let dir = tempfile::tempdir()?;
        let mut process = spawn(&bin, port, dir.path())?;
        // The old server's socket may linger for a moment: wait for ours to answer.
        if wait_until(Duration::from_secs(10), || process.exited() || ping(port))
            && !process.exited()
        {
            return Ok(Self {
                port,
                process,
                _dir: dir,
            });
        }
        Err(HarnessError::Start {
            program: "redis-server".into(),
            reason: process.log_tail(),
        })
    }

    /// Sends SIGKILL to the server and waits until it is gone: clients see
    /// their connections drop, nothing is saved.
    pub fn kill(&mut self) -> Result<(), HarnessError> {
        Command::new("kill")
            .args(["-KILL", &self.process.pid().to_string()])
            .status()?;
        if wait_until(Duration::from_secs(10), || self.process.exited()) {
            Ok(())
        } else {
            Err(HarnessError::Start {
                program: "redis-server".into(),
                reason: "still running 10 s after SIGKILL".into(),
            })
        }
    }
}
