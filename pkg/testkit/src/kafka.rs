//! A Kafka-protocol broker: `tansu` (a Rust broker, installed with `cargo
//! install` when missing), in memory, on a free loopback port.
//!
//! Apache Kafka needs a JVM and is not packaged for Debian; tansu speaks the
//! same protocol, which is all librdkafka sees. This tansu release does not
//! create topics on first use: tests call [`KafkaBroker::create_topic`].

use crate::{HarnessError, install, net::free_port, net::wait_until, process::Guard};
use std::{
    net::TcpStream,
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

/// The tansu release the tests are written against (its CLI and behaviour).
pub const TANSU_VERSION: &str = "0.6.0";

/// A tansu broker with in-memory storage; stopped (and its data gone) on drop.
#[derive(Debug)]
pub struct KafkaBroker {
    port: u16,
    bin: PathBuf,
    process: Guard,
    dir: tempfile::TempDir,
}

impl KafkaBroker {
    /// Installs tansu if missing and starts it on a free port.
    pub fn start() -> Result<Self, HarnessError> {
        let bin = ensure_tansu()?;
        let mut last = HarnessError::Start {
            program: "tansu".into(),
            reason: "no attempt".into(),
        };
        // A free port can be taken before tansu binds it: try a few.
        for _ in 0..5 {
            match Self::start_with(bin.clone(), free_port()?) {
                Ok(b) => return Ok(b),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Starts a broker on `port`, e.g. the port of one that was stopped, so a
    /// client configured with its address finds the broker back.
    pub fn start_on(port: u16) -> Result<Self, HarnessError> {
        Self::start_with(ensure_tansu()?, port)
    }

    /// Starts a broker on a free port that tells clients (in its metadata) to
    /// reach it at `advertised` (`HOST:PORT`), e.g. a TLS-terminating proxy
    /// in front of it: tansu itself has no TLS listener.
    pub fn start_advertising(advertised: &str) -> Result<Self, HarnessError> {
        let bin = ensure_tansu()?;
        let mut last = HarnessError::Start {
            program: "tansu".into(),
            reason: "no attempt".into(),
        };
        for _ in 0..5 {
            match Self::start_at(bin.clone(), free_port()?, Some(advertised)) {
                Ok(b) => return Ok(b),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    fn start_with(bin: PathBuf, port: u16) -> Result<Self, HarnessError> {
        Self::start_at(bin, port, None)
    }

    fn start_at(bin: PathBuf, port: u16, advertised: Option<&str>) -> Result<Self, HarnessError> {
        let dir = tempfile::tempdir()?;
        let process = spawn(&bin, dir.path(), port, advertised, MEMORY, false)?;
        Ok(Self {
            port,
            bin,
            process,
            dir,
        })
    }

    /// A broker that requires SASL (`tansu broker --authentication`): every
    /// request but ApiVersions, SaslHandshake and SaslAuthenticate is refused
    /// until the client has authenticated. It knows `user` with `password`
    /// for SCRAM-SHA-512 (tansu's PLAIN accepts any password, so only SCRAM
    /// is a real check) and holds `topics` (one partition each).
    ///
    /// tansu keeps users in its storage and refuses to create one on a
    /// broker that requires authentication, so a first broker without it
    /// creates the user and topics in a SQLite file, is stopped, and the
    /// broker returned serves the same file with authentication on. It tells
    /// clients to reach it at `advertised`, e.g. a TLS-terminating proxy
    /// (tansu 0.6.0 has no TLS listener: its `--cert` and `--key` cannot be
    /// given together). Needs the SQLite tansu ([`ensure_tansu_sqlite`]).
    pub fn start_sasl(
        advertised: &str,
        user: &str,
        password: &str,
        topics: &[&str],
    ) -> Result<Self, HarnessError> {
        let bin = ensure_tansu_sqlite()?;
        let dir = tempfile::tempdir()?;
        let setup_port = free_port()?;
        let setup = spawn(&bin, dir.path(), setup_port, None, SQLITE, false)?;
        for topic in topics {
            create_topic(&bin, setup_port, topic, 1)?;
        }
        create_user(&bin, setup_port, user, password)?;
        drop(setup);
        let port = free_port()?;
        let process = spawn(&bin, dir.path(), port, Some(advertised), SQLITE, true)?;
        Ok(Self {
            port,
            bin,
            process,
            dir,
        })
    }

    /// `127.0.0.1:PORT`, for `bootstrap.servers`.
    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The broker's process id.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// The last lines of the broker's log, for failure messages.
    pub fn log_tail(&self) -> String {
        crate::process::tail(&self.dir.path().join("tansu.log"))
    }

    /// Creates `name` with `partitions` partitions.
    pub fn create_topic(&self, name: &str, partitions: u32) -> Result<(), HarnessError> {
        create_topic(&self.bin, self.port, name, partitions)
    }
}

const MEMORY: &str = "memory://tansu/";
/// `tansu.db` in the broker's working directory (its directory).
const SQLITE: &str = "sqlite://tansu.db";

/// Starts `bin broker` in `dir` on `port` and waits until it listens.
fn spawn(
    bin: &Path,
    dir: &Path,
    port: u16,
    advertised: Option<&str>,
    storage: &str,
    authentication: bool,
) -> Result<Guard, HarnessError> {
    let url = format!("tcp://127.0.0.1:{port}");
    let advertised = advertised.map_or_else(|| url.clone(), |a| format!("tcp://{a}"));
    let mut cmd = Command::new(bin);
    cmd.arg("broker")
        .args(["--listener-url", &url])
        .args(["--advertised-listener-url", &advertised])
        .args(["--storage-engine", storage])
        .current_dir(dir)
        .env("RUST_LOG", "warn");
    if authentication {
        cmd.arg("--authentication");
    }
    // The setup broker of `start_sasl` (SQLite, no authentication) logs aside.
    let log = if storage == SQLITE && !authentication {
        "tansu-setup.log"
    } else {
        "tansu.log"
    };
    let mut process = Guard::spawn(cmd, &dir.join(log))?;
    let up = wait_until(Duration::from_secs(30), || {
        process.exited() || TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    if !up || process.exited() {
        return Err(HarnessError::Start {
            program: "tansu".into(),
            reason: process.log_tail(),
        });
    }
    Ok(process)
}

/// Runs a `tansu` command against the broker on `port` until it succeeds or
/// `done` accepts its error (retried for a few seconds: the listener accepts
/// connections slightly before requests are served).
fn run(
    bin: &Path,
    what: &str,
    args: &[&str],
    done: impl Fn(&str) -> bool,
) -> Result<(), HarnessError> {
    let mut reason = String::new();
    let ok = wait_until(Duration::from_secs(20), || {
        match Command::new(bin).args(args).output() {
            Ok(o) if o.status.success() => true,
            Ok(o) => {
                reason = String::from_utf8_lossy(&o.stderr).trim().to_owned();
                done(&reason)
            }
            Err(e) => {
                reason = e.to_string();
                false
            }
        }
    });
    if ok {
        Ok(())
    } else {
        Err(HarnessError::Start {
            program: format!("tansu {what}"),
            reason,
        })
    }
}

fn create_topic(bin: &Path, port: u16, name: &str, partitions: u32) -> Result<(), HarnessError> {
    let broker = format!("tcp://127.0.0.1:{port}");
    let partitions = partitions.to_string();
    let args = [
        "topic",
        "create",
        name,
        "--broker",
        &broker,
        "--partitions",
        &partitions,
    ];
    // Asked twice (a retry after a slow answer): it is there.
    run(bin, &format!("topic create {name}"), &args, |e| {
        e.contains("TopicAlreadyExists")
    })
}

/// A SCRAM-SHA-512 user (`tansu user create`).
fn create_user(bin: &Path, port: u16, user: &str, password: &str) -> Result<(), HarnessError> {
    let broker = format!("tcp://127.0.0.1:{port}");
    let args = [
        "user",
        "create",
        "--broker",
        &broker,
        "--mechanism",
        "scram512",
        user,
        password,
    ];
    run(bin, &format!("user create {user}"), &args, |_| false)
}

/// The tansu with SQLite storage (feature `libsql`) that
/// [`KafkaBroker::start_sasl`] needs, under `$CARGO_HOME/vg-tansu-sqlite`;
/// installed by `scripts/install-deps.sh tansu-sqlite` when missing.
pub fn ensure_tansu_sqlite() -> Result<PathBuf, HarnessError> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_default();
    let bin = home.join("vg-tansu-sqlite/bin/tansu");
    if bin.is_file() {
        return Ok(bin);
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/install-deps.sh");
    let fail = |reason: String| HarnessError::Install {
        program: "tansu (SQLite storage)".into(),
        how: format!("{} tansu-sqlite", script.display()),
        reason,
    };
    let out = Command::new("bash")
        .arg(&script)
        .arg("tansu-sqlite")
        .output()
        .map_err(|e| fail(e.to_string()))?;
    if !out.status.success() {
        return Err(fail(String::from_utf8_lossy(&out.stderr).trim().to_owned()));
    }
    bin.is_file()
        .then_some(bin.clone())
        .ok_or_else(|| fail("installed, yet still not found".into()))
}

/// The tansu binary: the SQLite-storage build when it is there (it serves
/// `memory://` too, so one build covers every Kafka test), else a tansu on
/// `PATH` or in `~/.cargo/bin`, else the SQLite-storage build installed by
/// `scripts/install-deps.sh tansu-sqlite` (once per machine).
pub fn ensure_tansu() -> Result<PathBuf, HarnessError> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_default();
    let sqlite = home.join("vg-tansu-sqlite/bin/tansu");
    if sqlite.is_file() {
        return Ok(sqlite);
    }
    if let Some(p) = install::find("tansu", &[home.join("bin")]) {
        return Ok(p);
    }
    ensure_tansu_sqlite()
}
