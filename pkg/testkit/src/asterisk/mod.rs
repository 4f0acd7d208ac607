//! A real Asterisk 20 (ARI, chan_sip, externalMedia, MixMonitor) per test.
//!
//! Each instance runs from its own temporary directory with generated
//! configuration: HTTP/ARI and chan_sip on free loopback ports, a private RTP
//! port range, an explicit module list (nothing that binds other ports) and a
//! test dialplan with callers (see [`Caller`]). It is stopped on drop.

mod ari;
mod caller;
mod conf;
mod dialplan;
mod prefix;
mod rtp;
mod sip_phone;

pub use ari::AriClient;
pub use caller::{Call, Caller};
pub use prefix::asterisk_prefix;
pub use sip_phone::SipPhone;

use crate::{
    HarnessError, net::free_port, net::wait_until, process::Guard, sockets::open_sockets, wav,
};
use std::{
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

/// The chan_sip peer a test SIP phone registers as.
pub const SIP_USER: &str = "caller";
/// Its password.
pub const SIP_SECRET: &str = "callersecret";

/// What to start; [`Default`] is what the gateway's tests need.
#[derive(Debug, Clone)]
pub struct AsteriskOptions {
    /// The Stasis app inbound test calls enter (`VG_APP`); default `voice-gateway`.
    pub stasis_app: String,
    /// ARI (and AMI) user name.
    pub ari_user: String,
    /// ARI (and AMI) password.
    pub ari_password: String,
    /// Extra `extensions.conf` text appended to the default test dialplan.
    pub extensions: String,
    /// Modules to load on top of the default list (names without `.so`).
    pub extra_modules: Vec<String>,
    /// Whether to enable AMI (on a free loopback port).
    pub ami: bool,
    /// RTP ports to reserve (`rtp.conf`): each call takes about four (its
    /// SIP or Local channel's RTP and RTCP, the externalMedia channel's).
    /// Rounded up to whole slots of 200; the default is one slot.
    pub rtp_ports: u16,
}

impl Default for AsteriskOptions {
    fn default() -> Self {
        Self {
            stasis_app: "voice-gateway".into(),
            ari_user: "vg".into(),
            ari_password: "vgsecret".into(),
            extensions: String::new(),
            extra_modules: Vec::new(),
            ami: false,
            rtp_ports: rtp::SLOT_PORTS,
        }
    }
}

/// A running Asterisk; stopped (`core stop now`, then killed) on drop.
#[derive(Debug)]
pub struct AsteriskServer {
    prefix: PathBuf,
    options: AsteriskOptions,
    http_port: u16,
    sip_port: u16,
    ami_port: Option<u16>,
    rtp: rtp::RtpSlot,
    ari: AriClient,
    process: Guard,
    dir: tempfile::TempDir,
}

impl AsteriskServer {
    /// Builds Asterisk if needed (see [`asterisk_prefix`]) and starts it with
    /// the default options.
    pub fn start() -> Result<Self, HarnessError> {
        Self::start_with(AsteriskOptions::default())
    }

    /// Starts an instance with `options`.
    pub fn start_with(options: AsteriskOptions) -> Result<Self, HarnessError> {
        let prefix = asterisk_prefix()?;
        let rtp = rtp::RtpSlot::claim(options.rtp_ports)?;
        let mut last = String::new();
        // A free port can be taken before Asterisk binds it: retry with new ones.
        for _ in 0..5 {
            // A short path: the control socket lives in it (108-byte limit).
            let dir = tempfile::Builder::new().prefix("vg-ast.").tempdir()?;
            let http_port = free_port()?;
            let sip_port = free_udp_port()?;
            let ami_port = if options.ami {
                Some(free_port()?)
            } else {
                None
            };
            conf::write_all(&conf::Layout {
                dir: dir.path(),
                prefix: &prefix,
                http_port,
                sip_port,
                ami_port,
                rtp: rtp.range(),
                options: &options,
            })?;
            write_sounds(dir.path())?;
            let process = spawn(&prefix, dir.path())?;
            let mut server = Self {
                ari: AriClient::new(
                    &format!("http://127.0.0.1:{http_port}/ari"),
                    &options.ari_user,
                    &options.ari_password,
                ),
                prefix: prefix.clone(),
                options: options.clone(),
                http_port,
                sip_port,
                ami_port,
                rtp: rtp.clone(),
                process,
                dir,
            };
            match server.wait_ready() {
                Ok(()) => return Ok(server),
                Err(reason) => last = reason,
            }
        }
        Err(HarnessError::Start {
            program: "asterisk".into(),
            reason: last,
        })
    }

    /// Waits until the core is fully booted, ARI answers and chan_sip has
    /// bound its port; the reason with the log tail if not.
    fn wait_ready(&mut self) -> Result<(), String> {
        let booted = wait_until(Duration::from_secs(60), || {
            self.process.exited() || self.cli("core waitfullybooted").is_ok()
        });
        let up = booted
            && !self.process.exited()
            && wait_until(Duration::from_secs(10), || {
                self.process.exited() || (self.ari_ping() && self.sip_bound())
            })
            && !self.process.exited();
        if up {
            Ok(())
        } else {
            Err(format!(
                "not ready (booted: {booted}, ARI ping: {}, SIP bound: {})\n{}\n{}",
                self.ari_ping(),
                self.sip_bound(),
                self.process.log_tail(),
                crate::process::tail(&self.log_path())
            ))
        }
    }

    fn ari_ping(&self) -> bool {
        matches!(self.ari.status("/asterisk/ping"), Ok(200))
    }

    fn sip_bound(&self) -> bool {
        open_sockets(self.pid()).is_ok_and(|socks| {
            socks.iter().any(|s| {
                s.proto == "udp" && s.local.port() == self.sip_port && s.local.ip().is_loopback()
            })
        })
    }

    /// Runs a CLI command (`asterisk -rx`) and returns its output.
    pub fn cli(&self, command: &str) -> Result<String, HarnessError> {
        let out = Command::new(self.prefix.join("sbin/asterisk"))
            .arg("-C")
            .arg(self.conf_path())
            .arg("-rx")
            .arg(command)
            .output()?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() && !text.contains("Unable to connect to remote asterisk") {
            Ok(text)
        } else {
            Err(HarnessError::Request {
                request: format!("asterisk -rx {command:?}"),
                reason: format!("{text}{}", String::from_utf8_lossy(&out.stderr)),
            })
        }
    }

    /// `core restart now`, then waits until it is booted again on the same
    /// ports (Asterisk re-executes itself: the process id stays the same).
    pub fn restart(&mut self) -> Result<(), HarnessError> {
        // The new image logs "Asterisk Ready." again into the same log file.
        // (The control socket's inode is no sign: a new file may reuse it.)
        let readies = |ast: &Self| ast.log_text().matches("Asterisk Ready.").count();
        let before = readies(self);
        // The connection drops as it restarts: the command's result says nothing.
        let _ = self.cli("core restart now");
        let restarted = wait_until(Duration::from_secs(30), || {
            self.process.exited() || readies(self) > before
        });
        if !restarted || self.process.exited() {
            return Err(HarnessError::Start {
                program: "asterisk (restart)".into(),
                reason: format!("did not come back\n{}", self.process.log_tail()),
            });
        }
        self.wait_ready().map_err(|reason| HarnessError::Start {
            program: "asterisk (restart)".into(),
            reason,
        })
    }

    /// `http://127.0.0.1:PORT/ari`
    pub fn ari_url(&self) -> String {
        format!("http://127.0.0.1:{}/ari", self.http_port)
    }

    /// The events WebSocket for `app`: `ws://127.0.0.1:PORT/ari/events?app=APP`
    /// (authenticate with basic auth, [`Self::ari_user`]/[`Self::ari_password`]).
    pub fn ari_ws_url(&self, app: &str) -> String {
        format!("ws://127.0.0.1:{}/ari/events?app={app}", self.http_port)
    }

    /// The HTTP (ARI) port.
    pub fn http_port(&self) -> u16 {
        self.http_port
    }

    /// The ARI user.
    pub fn ari_user(&self) -> &str {
        &self.options.ari_user
    }

    /// The ARI password.
    pub fn ari_password(&self) -> &str {
        &self.options.ari_password
    }

    /// The Stasis app test calls enter.
    pub fn stasis_app(&self) -> &str {
        &self.options.stasis_app
    }

    /// chan_sip's UDP port on 127.0.0.1.
    pub fn sip_port(&self) -> u16 {
        self.sip_port
    }

    /// The AMI port, when [`AsteriskOptions::ami`] asked for it.
    pub fn ami_port(&self) -> Option<u16> {
        self.ami_port
    }

    /// The RTP port range (inclusive) this instance uses, private to it.
    pub fn rtp_range(&self) -> (u16, u16) {
        self.rtp.range()
    }

    /// The instance's directory (configuration in `etc/`, logs in `log/`).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Where tests drop WAV files (8 kHz mono 16-bit) for the dialplan to
    /// play by absolute path without the extension.
    pub fn sounds_dir(&self) -> PathBuf {
        self.dir.path().join("sounds")
    }

    /// Where test calls' recordings go.
    pub fn recordings_dir(&self) -> PathBuf {
        self.dir.path().join("recordings")
    }

    /// The `messages.log` (notices, warnings, errors, verbose, DTMF).
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("log/messages.log")
    }

    /// The log so far (empty if there is none yet).
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// The Asterisk process id.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// The install prefix it runs from.
    pub fn prefix(&self) -> &Path {
        &self.prefix
    }

    /// A blocking ARI client with this instance's credentials.
    pub fn ari(&self) -> &AriClient {
        &self.ari
    }

    /// `GET` an ARI path (relative to `/ari`, e.g. `/asterisk/info`); must answer 2xx.
    pub fn ari_get(&self, path: &str) -> Result<serde_json::Value, HarnessError> {
        self.ari.get(path)
    }

    /// `POST` an ARI path with query parameters; must answer 2xx.
    pub fn ari_post(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<serde_json::Value, HarnessError> {
        self.ari.post(path, query)
    }

    /// `DELETE` an ARI path; must answer 2xx.
    pub fn ari_delete(&self, path: &str) -> Result<(), HarnessError> {
        self.ari.delete(path)
    }

    /// The ids of the channels that exist now.
    pub fn channels(&self) -> Result<Vec<String>, HarnessError> {
        self.ari.ids("/channels")
    }

    /// The ids of the bridges that exist now.
    pub fn bridges(&self) -> Result<Vec<String>, HarnessError> {
        self.ari.ids("/bridges")
    }

    fn conf_path(&self) -> PathBuf {
        self.dir.path().join("etc/asterisk.conf")
    }
}

impl Drop for AsteriskServer {
    fn drop(&mut self) {
        if !self.process.exited() {
            let _ = self.cli("core stop now");
            // The Guard kills it if it has not stopped by then.
            wait_until(Duration::from_secs(5), || self.process.exited());
        }
    }
}

fn spawn(prefix: &Path, dir: &Path) -> Result<Guard, HarnessError> {
    let mut cmd = Command::new(prefix.join("sbin/asterisk"));
    // Foreground, no colours; stdin is null (Guard), so no console.
    cmd.arg("-C")
        .arg(dir.join("etc/asterisk.conf"))
        .args(["-f", "-n"]);
    Ok(Guard::spawn(cmd, &dir.join("log/asterisk.out"))?)
}

/// A loopback UDP port that was free a moment ago (chan_sip's).
fn free_udp_port() -> std::io::Result<u16> {
    Ok(std::net::UdpSocket::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// The harness's own sounds: silence for callers with nothing to say and a
/// quiet tone as music on hold (the build has no MOH files).
fn write_sounds(dir: &Path) -> std::io::Result<()> {
    let silence = wav::silence(Duration::from_secs(10), wav::RATE);
    wav::write(
        &dir.join(format!("sounds/{}.wav", dialplan::SILENCE)),
        wav::RATE,
        &silence,
    )?;
    let moh = wav::tone(425.0, Duration::from_secs(2), wav::RATE, -30.0);
    wav::write(&dir.join("moh/vg-moh.wav"), wav::RATE, &moh)
}
