//! A child process that is stopped when dropped.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
};

/// A running server process; dropping it kills the process and reaps it.
#[derive(Debug)]
pub(crate) struct Guard {
    child: Child,
    log: PathBuf,
}

impl Guard {
    pub(crate) fn spawn(mut cmd: Command, log: &Path) -> std::io::Result<Self> {
        let out = std::fs::File::create(log)?;
        let err = out.try_clone()?;
        let child = cmd.stdin(Stdio::null()).stdout(out).stderr(err).spawn()?;
        Ok(Self {
            child,
            log: log.to_path_buf(),
        })
    }

    /// Whether the process has exited already (e.g. the port was taken).
    pub(crate) fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The last lines of the process's output, for error messages.
    pub(crate) fn log_tail(&self) -> String {
        tail(&self.log)
    }
}

pub(crate) fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
