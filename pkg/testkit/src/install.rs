//! Installing a missing program from the machine's package registries.

use std::{path::PathBuf, process::Command};

/// Why a server could not be provided.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// The program is missing and could not be installed.
    #[error("{program} is not installed and `{how}` failed: {reason}")]
    Install {
        /// The executable looked for.
        program: String,
        /// The install command tried.
        how: String,
        /// What went wrong.
        reason: String,
    },
    /// The program started but never became ready.
    #[error("{program} did not become ready: {reason}")]
    Start {
        /// The executable.
        program: String,
        /// What went wrong, with the tail of its log where there is one.
        reason: String,
    },
    /// A request to the program (e.g. an ARI call) failed or was refused.
    #[error("{request}: {reason}")]
    Request {
        /// The request, e.g. `POST /ari/channels`.
        request: String,
        /// The status and body, or the transport error.
        reason: String,
    },
    /// An I/O error around the process or its files.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Finds `program` on `PATH` or in `extra_dirs`.
pub(crate) fn find(program: &str, extra_dirs: &[PathBuf]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(extra_dirs.iter().cloned())
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// Returns the path of `program`, installing the Debian package `package` with
/// `apt-get` first if it is missing. Root is needed for the install (CI and the
/// developer machines run as root).
pub fn ensure_installed(
    program: &str,
    package: &str,
    extra_dirs: &[PathBuf],
) -> Result<PathBuf, HarnessError> {
    if let Some(p) = find(program, extra_dirs) {
        return Ok(p);
    }
    let how = format!("apt-get install -y {package}");
    let fail = |reason: String| HarnessError::Install {
        program: program.into(),
        how: how.clone(),
        reason,
    };
    // `apt-get update` first: a fresh machine has no package lists.
    for args in [vec!["update", "-qq"], vec!["install", "-y", "-qq", package]] {
        let out = Command::new("apt-get")
            .args(&args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .output()
            .map_err(|e| fail(e.to_string()))?;
        if !out.status.success() {
            return Err(fail(String::from_utf8_lossy(&out.stderr).trim().to_owned()));
        }
    }
    find(program, extra_dirs).ok_or_else(|| fail("installed, yet still not found".into()))
}
