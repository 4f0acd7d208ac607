//! Capacity and latency benchmark of the voice gateway (`make bench-load`).
//!
//! This process is the load generator: it runs the Asterisk simulator (real
//! UDP RTP on loopback), starts the gateway's release binary in its own
//! process with fake speech providers of fixed delays, ramps concurrent
//! calls step by step and measures each step from the outside (/proc of the
//! gateway, media timing at the simulated callers over RTP, AudioSocket or
//! the media WebSocket, `/metrics` for drops).
//! `--soak-calls N` instead keeps N calls up with churn for `--soak-secs`.

// The simulator is Asterisk and a load generator: it keeps real time.
#![allow(clippy::disallowed_methods)]

mod caller;
mod figures;
mod gateway;
mod procfs;
mod prom;
mod report;
mod run;
mod soak;
mod svg;
mod window;

use std::path::PathBuf;

use clap::Parser;

/// Load benchmark of the voice gateway.
#[derive(Parser, Debug, Clone)]
pub(crate) struct Cli {
    /// The gateway binary (a release build).
    #[arg(long, default_value = "target/release/voice-gateway")]
    pub(crate) gateway: PathBuf,
    /// Concurrent calls of each step, comma-separated.
    #[arg(long, default_value = "100,500,1000,2000,4000", value_delimiter = ',')]
    pub(crate) steps: Vec<u64>,
    /// Measured seconds per step (after the ramp and settling).
    #[arg(long, default_value_t = 30)]
    pub(crate) step_secs: u64,
    /// Seconds between reaching a step's calls and measuring.
    #[arg(long, default_value_t = 8)]
    pub(crate) settle_secs: u64,
    /// Calls placed per second while ramping.
    #[arg(long, default_value_t = 200)]
    pub(crate) ramp_per_sec: u64,
    /// Where the JSON, the Markdown report and the plot go.
    #[arg(long, default_value = "bench/results")]
    pub(crate) out: PathBuf,
    /// Soak mode: keep this many calls up with churn instead of ramping.
    #[arg(long, default_value_t = 0)]
    pub(crate) soak_calls: u64,
    /// Soak duration in seconds.
    #[arg(long, default_value_t = 1800)]
    pub(crate) soak_secs: u64,
    /// Soak: each call lasts between these many seconds (MIN-MAX) before it is replaced.
    #[arg(long, default_value = "60-180")]
    pub(crate) soak_call_secs: String,
    /// Fake STT: end of utterance → final transcript (ms).
    #[arg(long, default_value_t = 50)]
    pub(crate) stt_final_ms: u64,
    /// Fake TTS: first text → first audio (ms).
    #[arg(long, default_value_t = 50)]
    pub(crate) tts_first_audio_ms: u64,
    /// The gateway's end-of-turn silence (`[session] endpointing`, ms).
    #[arg(long, default_value_t = 200)]
    pub(crate) endpointing_ms: u64,
    /// The gateway's VAD hangover (ms; `vg_media` default, not configurable):
    /// subtracted with the other fixed delays from the caller's wait.
    #[arg(long, default_value_t = 300)]
    pub(crate) vad_hangover_ms: u64,
    /// Every n-th caller turn talks over the agent's reply (0: never).
    #[arg(long, default_value_t = 3)]
    pub(crate) barge_every: u32,
    /// The callers' RTP: `both` (the default) measures continuous callers
    /// (a packet every 20 ms for the whole call, silence between utterances,
    /// as most phones and trunks send and Asterisk relays) and then, with a
    /// fresh gateway, talkspurt-only callers (media only while talking, as
    /// Asterisk sends in the two-party bridge when the phone suppresses
    /// silence), in one report. A soak uses continuous callers for `both`.
    #[arg(long, value_enum, default_value_t = CallerMedia::Both)]
    pub(crate) caller_media: CallerMedia,
    /// Measures continuous callers only (`--caller-media continuous`).
    #[arg(long, alias = "continuous-media", conflicts_with = "caller_media")]
    pub(crate) continuous_rtp: bool,
    /// Seconds to wait after every call ended before the gateway's RSS is
    /// read again ("RSS a minute after the load").
    #[arg(long, default_value_t = 60)]
    pub(crate) idle_secs: u64,
    /// Runs one caller model and writes only its JSON here (the parent run of
    /// `--caller-media both` merges them).
    #[arg(long, hide = true)]
    pub(crate) model_json: Option<PathBuf>,
    /// Timer tasks sending the callers' RTP in the simulator.
    #[arg(long, default_value_t = 4)]
    pub(crate) media_shards: usize,
    /// Nice value the load generator takes once the gateway is up (0: none,
    /// the default). It was 10 so that the gateway got the CPU first, but
    /// the gateway's sending runs real-time now, and a starved generator
    /// sends its callers' speech late: the VAD then hears a barge-in late,
    /// and the figure measured the generator. At 2,000 continuous-RTP calls
    /// barge-in p99 was 89-353 ms at nice 10 (3 of 9 runs over 150 ms, the
    /// generator's own receive delay p99 up to 208 ms) and 60-124 ms at
    /// nice 0 (5 of 5 within), with the same gateway CPU and jitter
    /// (`bench/results/2026-12-07-session15/`). On the gateway's own
    /// hardware the callers are elsewhere and do not stall.
    #[arg(long, default_value_t = 0)]
    pub(crate) nice: u8,
    /// The externalMedia transport the gateway asks the simulator for
    /// (`[media] transport`; slin16 on audiosocket and websocket). Each is
    /// measured the same way: pacing jitter of the frames the gateway sends
    /// (kernel receive stamps over RTP and AudioSocket, the read time over the
    /// WebSocket), turn latency and barge-in delay at the simulated caller.
    #[arg(long, value_enum, default_value_t = Transport::Rtp)]
    pub(crate) transport: Transport,
}

/// How the simulated callers send their RTP.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallerMedia {
    /// Continuous, then talkspurt-only, each with its own gateway.
    Both,
    /// A packet every 20 ms for the whole call.
    Continuous,
    /// Packets only while the caller talks.
    Talkspurt,
}

impl CallerMedia {
    /// Its name on the command line and in the report.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            CallerMedia::Both => "both",
            CallerMedia::Continuous => "continuous",
            CallerMedia::Talkspurt => "talkspurt",
        }
    }
}

impl Cli {
    /// The caller models this run measures, in order.
    pub(crate) fn models(&self) -> Vec<CallerMedia> {
        match self.caller_media {
            _ if self.continuous_rtp => vec![CallerMedia::Continuous],
            CallerMedia::Both if self.soak_calls > 0 => vec![CallerMedia::Continuous],
            CallerMedia::Both => vec![CallerMedia::Continuous, CallerMedia::Talkspurt],
            one => vec![one],
        }
    }
}

/// `[media] transport` of the gateway under test.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transport {
    /// UnicastRTP, µ-law.
    Rtp,
    /// AudioSocket over TCP, slin16.
    Audiosocket,
    /// chan_websocket's media WebSocket, slin16 (jitter by arrival, before
    /// the simulator re-times the frames as Asterisk does).
    Websocket,
}

impl Transport {
    /// Its name in the gateway's configuration.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Transport::Rtp => "rtp",
            Transport::Audiosocket => "audiosocket",
            Transport::Websocket => "websocket",
        }
    }
}

/// Parses `MIN-MAX` seconds.
pub(crate) fn parse_range(s: &str) -> Result<(u64, u64), String> {
    let bad = || format!("{s:?} is not MIN-MAX seconds, e.g. 60-180");
    let (a, b) = s.split_once('-').ok_or_else(bad)?;
    let (a, b): (u64, u64) = (
        a.trim().parse().map_err(|_| bad())?,
        b.trim().parse().map_err(|_| bad())?,
    );
    if a == 0 || a > b {
        return Err(bad());
    }
    Ok((a, b))
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    if let Err(e) = validate(&cli) {
        eprintln!("loadgen: {e}");
        return std::process::ExitCode::from(2);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    match rt.block_on(run::main(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("loadgen: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Checks what clap cannot; the error names the flag.
pub(crate) fn validate(cli: &Cli) -> Result<(), String> {
    if cli.steps.is_empty() || cli.steps.contains(&0) {
        return Err("--steps: every step needs at least one call".into());
    }
    if !cli.steps.is_sorted() {
        return Err("--steps: steps must grow (calls stay up from one step to the next)".into());
    }
    if cli.step_secs == 0 {
        return Err("--step-secs: must be at least 1".into());
    }
    if cli.ramp_per_sec == 0 {
        return Err("--ramp-per-sec: must be at least 1".into());
    }
    parse_range(&cli.soak_call_secs).map_err(|e| format!("--soak-call-secs: {e}"))?;
    if !cli.gateway.is_file() {
        return Err(format!(
            "--gateway: {} is not a file (build it with cargo build --release)",
            cli.gateway.display()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cli(args: &[&str]) -> Cli {
        let mut all = vec!["loadgen"];
        if !args.contains(&"--gateway") {
            all.extend(["--gateway", "/bin/sh"]);
        }
        all.extend_from_slice(args);
        Cli::try_parse_from(all).unwrap()
    }

    #[test]
    fn flags_parse_and_bad_values_name_the_flag() {
        let c = cli(&["--steps", "100,500", "--step-secs", "20"]);
        assert_eq!((c.steps.clone(), c.step_secs), (vec![100, 500], 20));
        assert!(validate(&c).is_ok());
        assert_eq!(cli(&[]).steps, vec![100, 500, 1000, 2000, 4000]);
        for (args, flag) in [
            (&["--steps", "500,100"][..], "--steps"),
            (&["--steps", "0"][..], "--steps"),
            (&["--step-secs", "0"][..], "--step-secs"),
            (&["--ramp-per-sec", "0"][..], "--ramp-per-sec"),
            (&["--soak-call-secs", "90"][..], "--soak-call-secs"),
            (&["--soak-call-secs", "9-3"][..], "--soak-call-secs"),
            (&["--gateway", "/no/such/gateway"][..], "--gateway"),
        ] {
            let e = validate(&cli(args)).unwrap_err();
            assert!(e.starts_with(flag), "{args:?}: {e}");
        }
        assert!(Cli::try_parse_from(["loadgen", "--steps", "x"]).is_err());
        use CallerMedia::{Continuous, Talkspurt};
        assert_eq!(cli(&[]).models(), vec![Continuous, Talkspurt]);
        assert_eq!(cli(&["--continuous-rtp"]).models(), vec![Continuous]);
        assert_eq!(
            cli(&["--caller-media", "talkspurt"]).models(),
            vec![Talkspurt]
        );
        assert_eq!(cli(&["--soak-calls", "5"]).models(), vec![Continuous]);
        assert!(Cli::try_parse_from(["loadgen", "--caller-media", "x"]).is_err());
        assert_eq!(parse_range("60-180"), Ok((60, 180)));
    }
}
