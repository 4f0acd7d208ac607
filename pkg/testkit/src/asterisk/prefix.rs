//! Finding (building if needed) the real Asterisk the harness runs.
//!
//! Asterisk is not a Debian package here (Debian's lacks chan_websocket and is
//! not the 20 LTS the gateway targets), so it is built once from source into a
//! prefix and reused by every test binary afterwards.

use crate::HarnessError;
use std::{
    fs::File,
    path::{Path, PathBuf},
    process::Command,
    sync::OnceLock,
};

/// The build found or made by [`asterisk_prefix`], for every later start.
static PREFIX: OnceLock<PathBuf> = OnceLock::new();

/// The shared folder (tarball and `build.sh`) beside the workspace.
fn shared_dir() -> PathBuf {
    std::env::var_os("VG_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")))
}

/// The Asterisk install prefix (it holds `sbin/asterisk`).
///
/// `ASTERISK_PREFIX` wins when set. Otherwise `<shared>/asterisk/build.sh`
/// builds it (a few minutes the first time, instant afterwards), or, with no
/// shared folder, `scripts/asterisk-download.sh` downloads and builds it. The
/// build runs under a file lock so parallel test binaries never build twice at
/// once; the result is cached for the process.
pub fn asterisk_prefix() -> Result<PathBuf, HarnessError> {
    if let Some(p) = PREFIX.get() {
        return Ok(p.clone());
    }
    let prefix = match std::env::var_os("ASTERISK_PREFIX") {
        Some(p) => PathBuf::from(p),
        None => build()?,
    };
    if !prefix.join("sbin/asterisk").is_file() {
        return Err(fail(format!("{} has no sbin/asterisk", prefix.display())));
    }
    Ok(PREFIX.get_or_init(|| prefix).clone())
}

fn fail(reason: String) -> HarnessError {
    HarnessError::Install {
        program: "asterisk".into(),
        how: "build from source (shared/asterisk/build.sh or scripts/asterisk-download.sh)".into(),
        reason,
    }
}

/// Runs the build script under an exclusive lock and returns the prefix it prints.
fn build() -> Result<PathBuf, HarnessError> {
    let shared = shared_dir().join("asterisk/build.sh");
    let script = if shared.is_file() {
        shared
    } else {
        PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../scripts/asterisk-download.sh"
        ))
    };
    let lock = File::create(std::env::temp_dir().join("vg-asterisk-build.lock"))?;
    // Blocks while another test binary builds; the script then reuses its build.
    lock.lock()?;
    let out = run_script(&script);
    let _ = lock.unlock();
    out
}

fn run_script(script: &Path) -> Result<PathBuf, HarnessError> {
    let out = Command::new("bash")
        .arg(script)
        .output()
        .map_err(|e| fail(format!("{}: {e}", script.display())))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = err.lines().collect();
        return Err(fail(format!(
            "{} failed: {}",
            script.display(),
            lines[lines.len().saturating_sub(20)..].join("\n")
        )));
    }
    stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| PathBuf::from(l.trim()))
        .ok_or_else(|| fail(format!("{} printed no prefix", script.display())))
}
