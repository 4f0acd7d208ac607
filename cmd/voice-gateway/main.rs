//! The `voice-gateway` binary: parse the command line and configuration, install
//! logging and signal handling, run. Everything else lives in the library.

use clap::{Parser, Subcommand};
use std::{path::PathBuf, process::ExitCode};
use voice_gateway::adapter::{
    config::{self, Config, ConfigSource},
    telemetry::init_telemetry,
};

/// Exit code for a configuration that does not load or validate.
const EXIT_CONFIG: u8 = 2;

/// jemalloc, not glibc's malloc: after a load glibc kept the peak in its
/// per-thread arenas (16 MiB before 2,000 calls, 351 MiB a minute after);
/// jemalloc's background thread gives freed pages back while the workers
/// sleep (see bench/results/2026-12-06-memory-returned.md).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Starts jemalloc's background thread, which purges pages freed for longer
/// than jemalloc's decay time (10 s) whether or not any thread allocates
/// again: without it, memory freed by a load goes back only when the
/// thread that freed it allocates more, and idle workers do not.
fn purge_in_background() -> Result<(), String> {
    tikv_jemalloc_ctl::background_thread::write(true).map_err(|e| e.to_string())
}

#[derive(Parser, Debug)]
#[command(name = "voice-gateway", version = concat!(env!("CARGO_PKG_VERSION"), " (", env!("VOICEGW_GIT_SHA"), ")"))]
#[command(about = "Telephony media server: Asterisk ARI + RTP to streaming speech and an AI agent")]
struct Cli {
    /// Configuration file (TOML). Without it, config/voice-gateway.toml is read
    /// if present, else the embedded defaults. VOICEGW__SECTION__KEY variables
    /// override either.
    #[arg(long, short, global = true, value_name = "PATH")]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the gateway (the default).
    Serve,
    /// Load and validate the configuration, print the effective values with
    /// secrets masked, and exit (2 when invalid).
    CheckConfig,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (config, source) = match config::load(cli.config.as_deref(), std::env::vars()) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("voice-gateway: invalid configuration: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    match cli.command.unwrap_or(Command::Serve) {
        Command::CheckConfig => check_config(&config, &source),
        Command::Serve => serve(config, &source),
    }
}

fn check_config(config: &Config, source: &ConfigSource) -> ExitCode {
    // What only building the speech providers reveals (a route naming a
    // provider without its key, an unreadable prompt) fails here too.
    if let Err(e) = voice_gateway::server::check_speech(config) {
        eprintln!("voice-gateway: invalid configuration: {e}");
        return ExitCode::from(EXIT_CONFIG);
    }
    match &source.file {
        Some(f) => println!("# configuration: {} (valid)", f.display()),
        None => println!("# configuration: embedded defaults (valid)"),
    }
    for (key, var) in &source.env_overrides {
        println!("# {key} overridden by {var}");
    }
    match toml::to_string(config) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("voice-gateway: cannot print the configuration: {e}");
            ExitCode::FAILURE
        }
    }
}

fn serve(config: Config, source: &ConfigSource) -> ExitCode {
    // Before the runtime's threads exist; said once logging is up.
    let purge = purge_in_background();
    // The runtime first: span exports run on it.
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("voice-gateway: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let telemetry = match init_telemetry(
        &config.log,
        &config.telemetry.otlp,
        runtime.handle().clone(),
    ) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("voice-gateway: cannot start logging: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    if let Err(e) = purge {
        tracing::warn!(error = %e, "jemalloc background purging not started: memory freed after a load may not go back to the system");
    }
    if let Some(url) = config.telemetry.otlp.traces_url() {
        tracing::info!(%url, sampling_ratio = config.telemetry.otlp.sampling_ratio, "traces exported over OTLP");
    }
    match &source.file {
        Some(f) => {
            tracing::info!(file = %f.display(), overrides = source.env_overrides.len(), "configuration loaded")
        }
        None => tracing::info!(
            overrides = source.env_overrides.len(),
            "embedded default configuration"
        ),
    }
    let code = match runtime.block_on(voice_gateway::server::run(config, shutdown_signal())) {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!(error = %e, "gateway failed");
            ExitCode::FAILURE
        }
    };
    // Blocks this thread while the runtime's workers send the last spans.
    telemetry.shutdown();
    code
}

/// Resolves on the first SIGINT or SIGTERM. A second one exits at once, for an
/// operator who does not want to wait for the drain.
async fn shutdown_signal() {
    wait_signal().await;
    tracing::info!("shutdown signal received; a second signal exits immediately");
    tokio::spawn(async {
        wait_signal().await;
        tracing::warn!("second signal: exiting without waiting for live calls");
        std::process::exit(130);
    });
}

async fn wait_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
