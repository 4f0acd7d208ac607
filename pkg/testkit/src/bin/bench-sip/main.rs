//! `make bench-sip`: the gateway's release binary against the real Asterisk
//! 20 of the tests (chan_sip on loopback), called by SIPp callers that send
//! continuous PCMU RTP, with the gateway's fake speech providers and
//! built-in agent. Steps of concurrent calls (50, 200, 500 by default), a
//! fresh gateway per step on one Asterisk; for each, the gateway's and
//! Asterisk's CPU per call over the steady part, the gateway's RSS per call,
//! setup failures and turns completed, to `<out>/<date>-sip.{json,md}`.
//!
//! A blocking program: it starts (and on every exit path stops) Asterisk,
//! the gateway and SIPp, and reads `/proc` and the gateway's events file.

// A benchmark runs real programs in real time.
#![allow(clippy::disallowed_methods)]

mod args;
mod caller;
mod events;
mod gateway;
mod procfs;
mod report;
mod rtpcheck;
mod sipp;
mod step;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args = match args::Args::parse(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("bench-sip: {e}\n\n{}", args::USAGE);
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench-sip: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &args::Args) -> Result<(), String> {
    let sipp =
        vg_testkit::ensure_installed("sipp", "sip-tester", &[]).map_err(|e| e.to_string())?;
    let fd_limit = procfs::check_fd_limit(args.max_calls())?;
    let ast = vg_testkit::AsteriskServer::start_with(vg_testkit::AsteriskOptions {
        rtp_ports: args.asterisk_rtp_ports(),
        ..Default::default()
    })
    .map_err(|e| format!("asterisk: {e}"))?;
    eprintln!(
        "bench-sip: Asterisk {} (pid {}), chan_sip on 127.0.0.1:{}, RTP {:?}",
        ast.prefix().display(),
        ast.pid(),
        ast.sip_port(),
        ast.rtp_range()
    );
    let mut results = Vec::new();
    for &calls in &args.steps {
        let r = step::run(&ast, &sipp, args, calls)?;
        eprintln!("bench-sip: {}", report::line(&r));
        results.push(r);
    }
    let limits = report::Limits {
        fd: fd_limit,
        asterisk_rtp: ast.rtp_range(),
    };
    let (json, md) =
        report::write(&args.out, &results, args, &limits).map_err(|e| e.to_string())?;
    eprintln!("bench-sip: wrote {} and {}", json.display(), md.display());
    Ok(())
}
