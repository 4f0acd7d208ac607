//! The gateway under test: its release binary in its own process, with a
//! generated configuration (fake speech with fixed delays, the built-in agent).

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::prom::{Scrape, http_get};

/// Fixed delays of the fake speech providers (subtracted from what the caller
/// waits to get what the gateway adds).
#[derive(Debug, Clone, Copy)]
pub(crate) struct FakeDelays {
    pub(crate) stt_final_ms: u64,
    pub(crate) tts_first_audio_ms: u64,
    /// `[session] endpointing`: silence the gateway waits for by design.
    pub(crate) endpointing_ms: u64,
    /// The VAD's hangover (`vg_media::vad::VadConfig`, 300 ms): quiet time
    /// before speech counts as ended, also by design.
    pub(crate) vad_hangover_ms: u64,
    /// `[media] transport`.
    pub(crate) transport: crate::Transport,
}

/// A running gateway process.
pub(crate) struct Gateway {
    child: Child,
    pub(crate) http: SocketAddr,
    dir: PathBuf,
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The configuration file's text. `ended_calls_kept` is lowered from 10,000
/// so that a soak reaches the store's bound within minutes: memory that
/// still grows after that is a leak, not ended calls kept for the API.
pub(crate) fn config_text(http: SocketAddr, ari: &str, events: &Path, d: FakeDelays) -> String {
    format!(
        "[http]\nlisten = \"{http}\"\n\
         [ari]\nurl = \"{ari}\"\nusername = \"gw\"\npassword = \"gwsecret\"\n\
         [media]\nrtp_port_range = \"40000-49999\"\ntransport = \"{}\"\n\
         [log]\nlevel = \"warn\"\n\
         [events]\npath = \"{}\"\n\
         [limits]\nmax_live_calls = 100000\nmax_concurrent_calls = 100000\nended_calls_kept = 1000\n\
         [session]\nsilence_timeout = \"10m\"\nendpointing = \"{}ms\"\n\
         [speech]\nstt = \"fake\"\ntts = \"fake\"\n\
         [speech.fake]\nstt_final_delay = \"{}ms\"\ntts_first_audio_delay = \"{}ms\"\n\
         stt_trailing_silence = \"5s\"\n",
        d.transport.as_str(),
        events.display(),
        d.endpointing_ms,
        d.stt_final_ms,
        d.tts_first_audio_ms,
    )
}

impl Gateway {
    /// Starts `binary` against the simulator at `ari` and waits until `/readyz` is 200.
    pub(crate) async fn start(
        binary: &Path,
        ari: &str,
        delays: FakeDelays,
    ) -> std::io::Result<Self> {
        let dir = std::env::temp_dir().join(format!("vg-loadgen-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let http: SocketAddr = ([127, 0, 0, 1], free_port()?).into();
        let cfg = dir.join("gateway.toml");
        std::fs::write(
            &cfg,
            config_text(http, ari, &dir.join("events.jsonl"), delays),
        )?;
        let child = Command::new(binary)
            .arg("--config")
            .arg(&cfg)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("gateway.log"))?)
            .spawn()?;
        let mut gw = Self { child, http, dir };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = gw.child.try_wait()? {
                let log = std::fs::read_to_string(gw.dir.join("gateway.log")).unwrap_or_default();
                return Err(std::io::Error::other(format!(
                    "gateway exited with {status}: {log}"
                )));
            }
            if http_get(http, "/readyz").is_ok_and(|(s, _)| s == 200) {
                return Ok(gw);
            }
            if Instant::now() > deadline {
                return Err(std::io::Error::other("gateway not ready within 30 s"));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// One `/metrics` scrape.
    pub(crate) fn scrape(&self) -> std::io::Result<Scrape> {
        let (_, body) = http_get(self.http, "/metrics")?;
        Ok(Scrape::parse(&body))
    }

    /// SIGTERM (the drain path), then waits up to `within` for the exit.
    pub(crate) async fn stop(mut self, within: Duration) -> std::io::Result<()> {
        Command::new("kill")
            .arg("-TERM")
            .arg(self.pid().to_string())
            .status()?;
        let deadline = Instant::now() + within;
        while self.child.try_wait()?.is_none() {
            if Instant::now() > deadline {
                self.child.kill()?;
                self.child.wait()?;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // The events file grows with every call; nothing in it is needed.
        // The log (warnings and errors only) stays for a look afterwards.
        let _ = std::fs::remove_file(self.dir.join("events.jsonl"));
        eprintln!("gateway log: {}", self.dir.join("gateway.log").display());
        Ok(())
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generated_configuration_names_the_fake_delays() {
        let d = FakeDelays {
            stt_final_ms: 50,
            tts_first_audio_ms: 60,
            endpointing_ms: 200,
            vad_hangover_ms: 300,
            transport: crate::Transport::Audiosocket,
        };
        let text = config_text(
            "127.0.0.1:9".parse().unwrap(),
            "http://127.0.0.1:8088",
            Path::new("/tmp/e.jsonl"),
            d,
        );
        assert!(text.contains("stt_final_delay = \"50ms\""), "{text}");
        assert!(text.contains("tts_first_audio_delay = \"60ms\""), "{text}");
        assert!(text.contains("endpointing = \"200ms\""), "{text}");
        assert!(text.contains("stt = \"fake\""), "{text}");
        assert!(text.contains("transport = \"audiosocket\""), "{text}");
    }
}
