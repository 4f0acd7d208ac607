//! A real PostgreSQL server (Debian package `postgresql`): `initdb` into a
//! temporary directory, then `postgres` in the foreground on a free port.
//!
//! PostgreSQL refuses to run as root, so when the tests run as root (CI) the
//! server runs as the `postgres` user the Debian package creates, and owns the
//! temporary directory.

use crate::{
    HarnessError, install::ensure_installed, net::free_port, net::wait_until, process::Guard,
};
use std::{
    os::unix::{fs::PermissionsExt, process::CommandExt},
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

/// A PostgreSQL server with trust authentication for user `postgres` on a free
/// loopback port, its data in a temporary directory; stopped on drop.
#[derive(Debug)]
pub struct PostgresServer {
    pub(crate) port: u16,
    pub(crate) process: Guard,
    pub(crate) _dir: tempfile::TempDir,
}

impl PostgresServer {
    /// Installs PostgreSQL if missing, creates a cluster and starts it.
    pub fn start() -> Result<Self, HarnessError> {
        Self::start_with(None)
    }

    /// Like [`PostgresServer::start`], with `ssl = on` and the certificate
    /// `cert` and key `key` (PEM files, copied into the data directory), and
    /// clear-text connections over TCP refused (`hostnossl … reject`).
    pub fn start_tls(cert: &Path, key: &Path) -> Result<Self, HarnessError> {
        Self::start_with(Some((cert, key)))
    }

    fn start_with(tls: Option<(&Path, &Path)>) -> Result<Self, HarnessError> {
        let bin = bin_dir()?;
        let dir = tempfile::tempdir()?;
        let owner = run_as();
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))?;
        }
        let data = dir.path().join("data");
        let mut initdb = Command::new(bin.join("initdb"));
        initdb
            .args([
                "--auth=trust",
                "--username=postgres",
                "--encoding=UTF8",
                "--no-sync",
                "-D",
            ])
            .arg(&data);
        as_owner(&mut initdb, owner);
        let out = initdb.output()?;
        if !out.status.success() {
            return Err(HarnessError::Start {
                program: "initdb".into(),
                reason: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            });
        }
        let mut ssl_args = Vec::new();
        if let Some((cert, key)) = tls {
            // The server refuses a key file others can read, or owned by another user.
            for (from, name) in [(cert, "server.crt"), (key, "server.key")] {
                let to = data.join(name);
                std::fs::copy(from, &to)?;
                std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o600))?;
                if let Some((uid, gid)) = owner {
                    std::os::unix::fs::chown(&to, Some(uid), Some(gid))?;
                }
            }
            std::fs::write(
                data.join("pg_hba.conf"),
                "local all all trust\nhostssl all all 127.0.0.1/32 trust\n\
                 hostnossl all all 127.0.0.1/32 reject\n",
            )?;
            ssl_args = vec![
                "-c",
                "ssl=on",
                "-c",
                "ssl_cert_file=server.crt",
                "-c",
                "ssl_key_file=server.key",
            ];
        }
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port()?;
            let mut cmd = Command::new(bin.join("postgres"));
            cmd.arg("-D")
                .arg(&data)
                .args(["-p", &port.to_string(), "-k"])
                .arg(dir.path())
                .args([
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                ])
                .args(&ssl_args);
            as_owner(&mut cmd, owner);
            let log = dir.path().join(format!("postgres-{port}.log"));
            let mut process = Guard::spawn(cmd, &log)?;
            let ready = || process.exited() || is_ready(&bin, port);
            if wait_until(Duration::from_secs(30), ready) && !process.exited() {
                return Ok(Self {
                    port,
                    process,
                    _dir: dir,
                });
            }
            last = process.log_tail();
        }
        Err(HarnessError::Start {
            program: "postgres".into(),
            reason: last,
        })
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A connection URL for database `db` as user `postgres` (trust auth).
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }
}

/// The newest installed PostgreSQL's binary directory, installing it if none.
pub(crate) fn bin_dir() -> Result<PathBuf, HarnessError> {
    if let Some(d) = newest_bin_dir() {
        return Ok(d);
    }
    ensure_installed("pg_ctlcluster", "postgresql", &[])?;
    newest_bin_dir().ok_or_else(|| HarnessError::Start {
        program: "postgres".into(),
        reason: "installed, yet no /usr/lib/postgresql/*/bin/postgres".into(),
    })
}

fn newest_bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, p): &(u32, PathBuf)| {
            p.join("postgres").is_file() && p.join("initdb").is_file()
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, p)| p)
}

/// The `postgres` user's ids when running as root; `None` otherwise.
pub(crate) fn run_as() -> Option<(u32, u32)> {
    let uid = |args: &[&str]| -> Option<u32> {
        let out = Command::new("id").args(args).output().ok()?;
        String::from_utf8(out.stdout).ok()?.trim().parse().ok()
    };
    if uid(&["-u"])? != 0 {
        return None;
    }
    Some((uid(&["-u", "postgres"])?, uid(&["-g", "postgres"])?))
}

pub(crate) fn as_owner(cmd: &mut Command, owner: Option<(u32, u32)>) {
    if let Some((uid, gid)) = owner {
        cmd.uid(uid).gid(gid);
    }
}

pub(crate) fn is_ready(bin: &Path, port: u16) -> bool {
    Command::new(bin.join("pg_isready"))
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-q"])
        .status()
        .is_ok_and(|s| s.success())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_a_real_server_and_answers_sql() {
        let pg = PostgresServer::start().expect("postgres starts");
        let bin = bin_dir().unwrap();
        let out = Command::new(bin.join("psql"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &pg.port().to_string(),
                "-U",
                "postgres",
                "-tAc",
                "select 6*7",
            ])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "42", "{out:?}");
    }
}
