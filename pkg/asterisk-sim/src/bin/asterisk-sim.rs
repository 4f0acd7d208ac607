//! Runs the Asterisk simulator as its own process (for the load benchmark).

// The simulator is Asterisk and a load generator: it keeps real time.
#![allow(clippy::disallowed_methods)]

use std::time::Duration;

use clap::Parser;
use vg_asterisk_sim::{SimConfig, Simulator};

/// Asterisk 20 ARI simulator.
#[derive(Parser, Debug)]
struct Cli {
    /// Port to listen on (127.0.0.1).
    #[arg(long, default_value_t = 8088)]
    port: u16,
    /// ARI user.
    #[arg(long, default_value = "gw")]
    user: String,
    /// ARI password.
    #[arg(long, default_value = "gwsecret")]
    password: String,
    /// Stasis app that inbound calls enter.
    #[arg(long, default_value = "voice-gateway")]
    app: String,
    /// Number of inbound calls to generate once the app connects (0 = none).
    #[arg(long, default_value_t = 0)]
    calls: u32,
    /// Delay between generated calls, in ms.
    #[arg(long, default_value_t = 10)]
    call_interval_ms: u64,
    /// DID the generated calls dial.
    #[arg(long, default_value = "+15551234567")]
    did: String,
    /// Keep received media payloads (memory grows with every packet).
    #[arg(long)]
    record_payloads: bool,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let cli = Cli::parse();
    let cfg = SimConfig {
        port: cli.port,
        username: cli.user,
        password: cli.password,
        inbound_app: cli.app.clone(),
        record_payloads: cli.record_payloads,
        ..SimConfig::default()
    };
    let sim = Simulator::start(cfg).await?;
    eprintln!(
        "asterisk-sim listening on {} (events {})",
        sim.base_url(),
        sim.ws_url()
    );
    if cli.calls > 0 {
        while !sim.app_connected(&cli.app) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        for i in 0..cli.calls {
            let caller = format!("\"Caller {i}\" <+1555{:07}>", i);
            sim.place_inbound_call(&cli.did, &caller);
            tokio::time::sleep(Duration::from_millis(cli.call_interval_ms)).await;
        }
        eprintln!("placed {} inbound calls", cli.calls);
    }
    tokio::signal::ctrl_c().await?;
    Ok(())
}
