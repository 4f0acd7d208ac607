//! Fault scenarios of the data path (see main.rs).

use crate::rig::{Engines, Gw, GwOpts, calls, until};
use std::sync::Arc;
use vg_asterisk_sim::{SimConfig, Simulator};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe() {
    let e = Engines::start().await;
    let sim = Arc::new(Simulator::start(SimConfig::default()).await.unwrap());
    let spool = tempfile::tempdir().unwrap();
    let gw = Gw::spawn(
        &sim,
        &e,
        &GwOpts {
            spool: spool.path(),
            rtp: "35000-35299",
            fsize_kib: None,
        },
    )
    .await;
    let t0 = std::time::Instant::now();
    let cs = calls(&sim, 3, 2).await;
    eprintln!("talked in {:?}", t0.elapsed());
    for c in &cs {
        sim.caller_hangup(*c);
    }
    until("ended", 30, async || {
        gw.metric("voicegw_live_calls").await == 0.0
    })
    .await;
    let t = e
        .read_back(20, |t| t.unended() == 0 && t.delivered() > 20)
        .await;
    eprintln!("delivered {} unended {}", t.delivered(), t.unended());
    gw.stop().await;
}
