//! A real SIP phone for end-to-end tests: Debian's `baresip` (package
//! `baresip-core`) registered as the `caller` peer of a test Asterisk.
//!
//! No sound card: the microphone is a WAV file (`aufile`), what the phone
//! hears is dumped to a WAV file by `sndfile`, and the speaker is an
//! `aubridge` device nobody reads. It is driven over `ctrl_tcp` (netstring
//! JSON commands) on a loopback port.

use super::{AsteriskServer, SIP_SECRET, SIP_USER};
use crate::{
    HarnessError, install::ensure_installed, net::free_port, net::wait_until, process::Guard, wav,
};
use std::{
    io::Write,
    net::TcpStream,
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

/// A running baresip; stopped on drop.
#[derive(Debug)]
pub struct SipPhone {
    ctrl_port: u16,
    sip_port: u16,
    asterisk_sip_port: u16,
    process: Guard,
    dir: tempfile::TempDir,
}

impl SipPhone {
    /// Starts baresip registered to `ast` as [`SIP_USER`], sending `mic` (an
    /// 8 kHz mono 16-bit WAV) in its calls. baresip hangs a call up when the
    /// file ends, so the file's length is the call's: pad it with silence.
    pub fn start(ast: &AsteriskServer, mic: &Path) -> Result<Self, HarnessError> {
        let bin = ensure_installed("baresip", "baresip-core", &[])?;
        let mut last = String::new();
        for _ in 0..3 {
            let dir = tempfile::Builder::new().prefix("vg-phone.").tempdir()?;
            let ctrl_port = free_port()?;
            let sip_port = free_port()?;
            write_config(dir.path(), ctrl_port, sip_port, mic, ast.sip_port())?;
            let mut cmd = Command::new(&bin);
            cmd.arg("-f").arg(dir.path()).current_dir(dir.path());
            let mut process = Guard::spawn(cmd, &dir.path().join("baresip.log"))?;
            let up = wait_until(Duration::from_secs(10), || {
                process.exited() || TcpStream::connect(("127.0.0.1", ctrl_port)).is_ok()
            });
            if up && !process.exited() {
                return Ok(Self {
                    ctrl_port,
                    sip_port,
                    asterisk_sip_port: ast.sip_port(),
                    process,
                    dir,
                });
            }
            last = process.log_tail();
        }
        Err(HarnessError::Start {
            program: "baresip".into(),
            reason: last,
        })
    }

    /// Dials an extension of the `[vg-sip]` context (e.g. `echo`, `play`, or
    /// a DID that enters the Stasis app).
    pub fn dial(&self, exten: &str) -> Result<(), HarnessError> {
        let uri = format!("sip:{exten}@127.0.0.1:{}", self.asterisk_sip_port);
        self.command("dial", &uri)
    }

    /// Hangs up the current call.
    pub fn hangup(&self) -> Result<(), HarnessError> {
        self.command("hangup", "")
    }

    /// Waits until baresip's output contains `text` (e.g. `Call established`,
    /// `terminated`).
    pub fn wait_for_log(&self, text: &str, timeout: Duration) -> bool {
        wait_until(timeout, || self.log_text().contains(text))
    }

    /// The phone's SIP port on 127.0.0.1.
    pub fn sip_port(&self) -> u16 {
        self.sip_port
    }

    /// baresip's output so far (its call progress, for assertions and errors).
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("baresip.log")).unwrap_or_default()
    }

    /// What the phone heard in its last call: `sndfile`'s `*-dec.wav`,
    /// once the file is complete (the call has ended).
    pub fn heard(&self, timeout: Duration) -> Result<wav::Wav, HarnessError> {
        let mut found = None;
        let complete = wait_until(timeout, || {
            found = self.dump("-dec.wav");
            found.as_deref().is_some_and(wav::is_complete)
        });
        match found {
            Some(path) if complete => Ok(wav::read(&path)?),
            _ => Err(HarnessError::Request {
                request: "baresip recording".into(),
                reason: format!("no complete *-dec.wav\n{}", self.process.log_tail()),
            }),
        }
    }

    /// The newest sndfile dump ending in `suffix`.
    fn dump(&self, suffix: &str) -> Option<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path().join("dump"))
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.to_string_lossy().ends_with(suffix))
            .collect();
        files.sort();
        files.pop()
    }

    /// Sends one ctrl_tcp command: a netstring holding a JSON object.
    fn command(&self, command: &str, params: &str) -> Result<(), HarnessError> {
        let body =
            serde_json::json!({ "command": command, "params": params, "token": "vg" }).to_string();
        let mut s = TcpStream::connect(("127.0.0.1", self.ctrl_port))?;
        s.write_all(format!("{}:{body},", body.len()).as_bytes())?;
        // Read (and ignore) the reply so baresip does not write to a closed
        // socket; the outcome shows in its log.
        s.set_read_timeout(Some(Duration::from_secs(2)))?;
        let _ = std::io::Read::read(&mut s, &mut [0u8; 512]);
        Ok(())
    }
}

fn write_config(dir: &Path, ctrl: u16, sip: u16, mic: &Path, asterisk: u16) -> std::io::Result<()> {
    std::fs::create_dir_all(dir.join("dump"))?;
    let mic = std::path::absolute(mic)?;
    let config = format!(
        "poll_method epoll\n\
         sip_listen 127.0.0.1:{sip}\n\
         net_interface 127.0.0.1\n\
         audio_player aubridge,nobody\n\
         audio_source aufile,{mic}\n\
         audio_alert aubridge,nobody\n\
         ausrc_srate 8000\n\
         ausrc_channels 1\n\
         auplay_srate 8000\n\
         auplay_channels 1\n\
         snd_path {dump}\n\
         ctrl_tcp_listen 127.0.0.1:{ctrl}\n\
         module_path /usr/lib/baresip/modules\n\
         module g711.so\n\
         module aufile.so\n\
         module aubridge.so\n\
         module sndfile.so\n\
         module_app account.so\n\
         module_app menu.so\n\
         module_app ctrl_tcp.so\n",
        mic = mic.display(),
        dump = dir.join("dump").display(),
    );
    std::fs::write(dir.join("config"), config)?;
    std::fs::write(
        dir.join("accounts"),
        format!(
            "<sip:{SIP_USER}@127.0.0.1:{asterisk}>;auth_pass={SIP_SECRET};regint=60;audio_codecs=PCMU\n"
        ),
    )?;
    std::fs::write(dir.join("contacts"), "")
}
