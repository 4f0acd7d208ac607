//! A real `redis-server` (Debian package `redis-server`).

use crate::{
    HarnessError, install::ensure_installed, net::free_port, net::wait_until, process::Guard,
};
use std::{
    io::{Read, Write},
    net::TcpStream,
    path::Path,
    process::Command,
    time::Duration,
};

mod restart;

/// A redis-server on a free loopback port with no persistence; stopped on drop.
#[derive(Debug)]
pub struct RedisServer {
    port: u16,
    process: Guard,
    _dir: tempfile::TempDir,
}

impl RedisServer {
    /// Installs redis-server if missing and starts it.
    pub fn start() -> Result<Self, HarnessError> {
        let bin = ensure_installed("redis-server", "redis-server", &[])?;
        let dir = tempfile::tempdir()?;
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port()?;
            let mut process = spawn(&bin, port, dir.path())?;
            if wait_until(Duration::from_secs(10), || process.exited() || ping(port))
                && !process.exited()
            {
                return Ok(Self {
                    port,
                    process,
                    _dir: dir,
                });
            }
            last = process.log_tail();
        }
        Err(HarnessError::Start {
            program: "redis-server".into(),
            reason: last,
        })
    }

    /// Starts a redis-server that speaks TLS only (no clear-text port), with
    /// the server certificate `cert` and key `key` (PEM files); clients are
    /// not asked for certificates. Its URL is [`RedisServer::tls_url`].
    pub fn start_tls(cert: &Path, key: &Path, ca: &Path) -> Result<Self, HarnessError> {
        let bin = ensure_installed("redis-server", "redis-server", &[])?;
        let dir = tempfile::tempdir()?;
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port()?;
            let mut cmd = Command::new(&bin);
            cmd.args(["--port", "0", "--tls-port", &port.to_string()])
                .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
                .arg("--tls-cert-file")
                .arg(cert)
                .arg("--tls-key-file")
                .arg(key)
                .arg("--tls-ca-cert-file")
                .arg(ca)
                .args(["--tls-auth-clients", "no"])
                .arg("--dir")
                .arg(dir.path());
            let mut process = Guard::spawn(cmd, &dir.path().join("redis.log"))?;
            // A clear-text PING gets no answer from a TLS port: accepting is the sign.
            let up = || process.exited() || TcpStream::connect(("127.0.0.1", port)).is_ok();
            if wait_until(Duration::from_secs(10), up) && !process.exited() {
                return Ok(Self {
                    port,
                    process,
                    _dir: dir,
                });
            }
            last = process.log_tail();
        }
        Err(HarnessError::Start {
            program: "redis-server (tls)".into(),
            reason: last,
        })
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `rediss://127.0.0.1:PORT/`, for a server of [`RedisServer::start_tls`].
    pub fn tls_url(&self) -> String {
        format!("rediss://127.0.0.1:{}/", self.port)
    }

    /// `redis://127.0.0.1:PORT/`
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// The server's process id (for tests that kill it to simulate an outage).
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }
}

/// Starts redis-server on `port` with its files in `dir`.
fn spawn(bin: &Path, port: u16, dir: &Path) -> Result<Guard, HarnessError> {
    let mut cmd = Command::new(bin);
    cmd.args([
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
    ])
    .arg("--dir")
    .arg(dir);
    Ok(Guard::spawn(cmd, &dir.join("redis.log"))?)
}

/// Whether a Redis server answers `PING` on the port.
fn ping(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
    let mut buf = [0u8; 7];
    s.write_all(b"PING\r\n").is_ok() && s.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
}
