//! CPU per leg under load: `cargo test --release -- --ignored cpu_per_leg --nocapture`.

use super::support::*;
use crate::application::ports::media::{MediaCommand, MediaLeg};
use std::time::{Duration, Instant};

/// User + system CPU of this process so far (from `/proc/self/stat`).
fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after_comm = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<u64> = after_comm
        .split(' ')
        .skip(11)
        .take(2)
        .map(|x| x.parse().unwrap())
        .collect();
    // Clock ticks; 100 per second on Linux.
    Duration::from_millis((f[0] + f[1]) * 10)
}

/// 100 legs, each receiving a 20 ms µ-law tone and playing 24 kHz TTS for
/// 10 s. One test peer serves all of them (its own cost is included: the
/// figure is an upper bound).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a check: run by hand"]
async fn cpu_per_leg() {
    const LEGS: usize = 100;
    const SECS: u64 = 10;
    let ep = endpoint(LEGS as u16);
    let mut peer = Peer::new().await;
    let mut legs: Vec<MediaLeg> = Vec::new();
    for _ in 0..LEGS {
        let leg = open(&ep).await;
        leg.commands
            .control
            .send(MediaCommand::SetPeer(peer.addr()))
            .await
            .unwrap();
        legs.push(leg);
    }
    // Drain every leg's events as a session would.
    let drains: Vec<_> = legs
        .iter_mut()
        .map(|l| std::mem::replace(&mut l.events, tokio::sync::mpsc::channel(1).1))
        .map(|mut rx| tokio::spawn(async move { while rx.recv().await.is_some() {} }))
        .collect();
    let pcm: Vec<i16> = (0..24_000 * SECS as usize)
        .map(|i| ((i % 48) as i16 - 24) * 300)
        .collect();
    let (cpu0, t0) = (process_cpu(), Instant::now());
    for leg in &legs {
        let play = pcm_chunk(0, pcm.clone(), 24_000);
        leg.commands.audio.send(play).await.unwrap();
    }
    let addrs: Vec<_> = legs.iter().map(|l| l.local).collect();
    let sink = tokio::spawn({
        let socket = peer.socket.clone();
        async move {
            let mut buf = [0u8; 2048];
            let mut n = 0u64;
            let wait = Duration::from_millis(500);
            while let Ok(Ok(_)) = tokio::time::timeout(wait, socket.recv_from(&mut buf)).await {
                n += 1;
            }
            n
        }
    });
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    for frame in 0..(SECS * 50) as u32 {
        tick.tick().await;
        let payload = tone_frame(frame);
        for &to in &addrs {
            peer.send(to, &payload).await;
        }
    }
    let (cpu, wall) = (process_cpu() - cpu0, t0.elapsed());
    let received = sink.await.unwrap();
    println!(
        "{LEGS} legs for {wall:.1?}: CPU {cpu:?} = {:.2}% of a core per leg ({:.1} ms/s); \
         packets in {} out {} (peer got {received}), late sends {}, audio dropped {}",
        cpu.as_secs_f64() / wall.as_secs_f64() / LEGS as f64 * 100.0,
        cpu.as_secs_f64() * 1e3 / wall.as_secs_f64() / LEGS as f64,
        ep.metrics().packets_in.get(),
        ep.metrics().packets_out.get(),
        ep.metrics().late_sends.get(),
        ep.metrics().audio_frames_dropped.get(),
    );
    drop(legs);
    for d in drains {
        d.await.unwrap();
    }
}
