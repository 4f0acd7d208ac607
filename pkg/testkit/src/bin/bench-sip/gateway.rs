//! The gateway under test: its release binary with a generated
//! configuration (fake speech with the adapters' default delays, the
//! built-in agent, every DID routed), on the benchmark's Asterisk.

use crate::procfs::Proc;
use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpStream},
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};
use vg_testkit::AsteriskServer;

/// A running gateway; killed on drop if [`Gateway::stop`] was not called.
pub(crate) struct Gateway {
    pub(crate) proc: Proc,
    pub(crate) events: PathBuf,
}

/// The configuration file's text. Calls are limited only by the benchmark.
pub(crate) fn config_text(
    http: SocketAddr,
    ast: &AsteriskServer,
    events: &Path,
    rtp: (u16, u16),
) -> String {
    format!(
        "[http]\nlisten = \"{http}\"\n\
         [ari]\nurl = \"http://127.0.0.1:{port}\"\nusername = \"{user}\"\npassword = \"{pass}\"\napp = \"{app}\"\n\
         [media]\nrtp_port_range = \"{}-{}\"\n\
         [log]\nlevel = \"warn\"\n\
         [events]\npath = \"{}\"\n\
         [limits]\nmax_live_calls = 100000\nmax_concurrent_calls = 100000\n\
         [speech]\nstt = \"fake\"\ntts = \"fake\"\n\
         [[routes]]\ndid = \"*\"\ntenant = \"acme\"\nagent = \"builtin\"\n",
        rtp.0,
        rtp.1,
        events.display(),
        port = ast.http_port(),
        user = ast.ari_user(),
        pass = ast.ari_password(),
        app = ast.stasis_app(),
    )
}

impl Gateway {
    /// Starts `binary` in `dir` and waits until `/readyz` answers 200 (ARI up).
    pub(crate) fn start(
        binary: &Path,
        dir: &Path,
        ast: &AsteriskServer,
        rtp: (u16, u16),
    ) -> Result<Self, String> {
        let http: SocketAddr = (
            [127, 0, 0, 1],
            vg_testkit::free_port().map_err(|e| e.to_string())?,
        )
            .into();
        let events = dir.join("events.jsonl");
        let cfg = dir.join("gateway.toml");
        let io = |e: std::io::Error| format!("gateway: {e}");
        std::fs::write(&cfg, config_text(http, ast, &events, rtp)).map_err(io)?;
        let mut cmd = Command::new(binary);
        cmd.arg("--config").arg(&cfg);
        let log = dir.join("gateway.log");
        let mut proc = Proc::spawn(cmd, &log).map_err(io)?;
        let deadline = Instant::now() + Duration::from_secs(30);
        while !ready(http) {
            if proc.exited() || Instant::now() > deadline {
                let tail = std::fs::read_to_string(&log).unwrap_or_default();
                return Err(format!("the gateway did not become ready: {tail}"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(Self { proc, events })
    }

    /// SIGTERM (the drain path); killed after 15 s.
    pub(crate) fn stop(mut self) {
        if !self.proc.stop(Duration::from_secs(15)) {
            eprintln!("bench-sip: the gateway did not stop within 15 s; killed");
        }
    }
}

/// `GET /readyz` is 200.
fn ready(http: SocketAddr) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(&http, Duration::from_secs(1)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let req = format!("GET /readyz HTTP/1.1\r\nHost: {http}\r\nConnection: close\r\n\r\n");
    let mut head = [0u8; 12];
    s.write_all(req.as_bytes()).is_ok()
        && s.read_exact(&mut head).is_ok()
        && head.starts_with(b"HTTP/1.1 200")
}
