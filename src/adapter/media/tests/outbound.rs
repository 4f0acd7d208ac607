//! Agent audio out: pacing, numbering, flush on barge-in, drained.

use super::support::*;
use crate::application::ports::media::{MediaCommand, MediaEvent};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// `secs` of a 440 Hz tone at 24 kHz.
fn tts_audio(secs: f64) -> Vec<i16> {
    let n = (24_000.0 * secs) as usize;
    (0..n)
        .map(|i| {
            (8_000.0 * (2.0 * std::f64::consts::PI * 440.0 * i as f64 / 24_000.0).sin()) as i16
        })
        .collect()
}

async fn play(leg: &crate::application::ports::media::MediaLeg, secs: f64) {
    let pcm = tts_audio(secs);
    leg.commands
        .send(MediaCommand::Play { pcm, rate: 24_000 })
        .await
        .unwrap();
}

#[tokio::test]
async fn one_second_of_tts_goes_out_as_about_50_paced_packets() {
    let ep = endpoint(1);
    let mut leg = open(&ep).await;
    let peer = Peer::new().await;
    leg.commands
        .send(MediaCommand::SetPeer(peer.addr()))
        .await
        .unwrap();
    play(&leg, 1.0).await;
    leg.commands.send(MediaCommand::EndOfSpeech).await.unwrap();
    let mut packets = Vec::new();
    while let Some(p) = peer.recv(Duration::from_millis(500)).await {
        packets.push(p);
    }
    let drained = loop {
        if let MediaEvent::PlaybackDrained { at } = next_event(&mut leg).await {
            break at;
        }
    };
    let n = packets.len();
    assert!(
        (50..=52).contains(&n),
        "{n} packets for 1 s (+ resampler tail)"
    );
    let (first, _, _) = packets[0];
    assert!(first.marker, "marker on the first packet");
    for (i, (h, len, _)) in packets.iter().enumerate() {
        assert_eq!((h.payload_type, *len), (0, 160), "PCMU, 20 ms");
        assert_eq!(
            h.sequence,
            first.sequence.wrapping_add(i as u16),
            "continuous seq"
        );
        assert_eq!(
            h.timestamp,
            first.timestamp.wrapping_add(160 * i as u32),
            "continuous ts"
        );
        assert_eq!(h.ssrc, first.ssrc);
        assert!(i == 0 || !h.marker);
    }
    let gaps: Vec<f64> = packets
        .windows(2)
        .map(|w| (w[1].2 - w[0].2).as_secs_f64() * 1e3)
        .collect();
    let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
    let max_dev = gaps.iter().map(|g| (g - 20.0).abs()).fold(0.0, f64::max);
    let span = (packets[n - 1].2 - packets[0].2).as_secs_f64() * 1e3;
    println!("{n} packets: mean gap {mean:.2} ms, max |gap-20| {max_dev:.2} ms, span {span:.1} ms");
    // Loose: a burst would span ~0 ms; pacing spans ~(n-1)·20 ms.
    assert!(
        span > 15.0 * (n - 1) as f64,
        "paced, not a burst: span {span:.1} ms"
    );
    assert!(drained <= Instant::now());
    assert_eq!(ep.metrics().packets_out.get(), n as u64);
}

#[tokio::test]
async fn flush_stops_packets_at_once_and_reports_what_was_heard() {
    let ep = endpoint(1);
    let mut leg = open(&ep).await;
    let peer = Peer::new().await;
    leg.commands
        .send(MediaCommand::SetPeer(peer.addr()))
        .await
        .unwrap();
    play(&leg, 3.0).await;
    let mut received = 0;
    while received < 25 {
        peer.recv(PATIENCE).await.expect("packets flow");
        received += 1;
    }
    let (tx, rx) = oneshot::channel();
    leg.commands.send(MediaCommand::Flush(tx)).await.unwrap();
    let report = tokio::time::timeout(PATIENCE, rx).await.unwrap().unwrap();
    let replied = Instant::now();
    // Packets already in flight may still be read; none may be sent a frame later.
    let mut after = Vec::new();
    while let Some((_, _, at)) = peer.recv(Duration::from_millis(300)).await {
        after.push(at);
    }
    let late = after
        .iter()
        .filter(|&&at| at > replied + Duration::from_millis(20))
        .count();
    assert_eq!(
        late, 0,
        "no packet more than one frame after the flush reply"
    );
    let heard = (received + after.len()) as u32;
    println!(
        "flush report {report:?}; {received} packets before, {} after",
        after.len()
    );
    assert_eq!(
        report.sent,
        Duration::from_millis(20) * heard,
        "sent = packets the peer got"
    );
    let total = report.sent + report.dropped;
    assert!(
        total >= Duration::from_millis(2_900) && total <= Duration::from_millis(3_000),
        "sent + dropped ≈ the 3 s queued: {total:?}"
    );
    assert!(report.last_packet_at.is_some_and(|t| t <= replied));
    // A flush is no end of speech: no drained event follows.
    leg.commands.send(MediaCommand::Close).await.unwrap();
    while let Some(e) = leg.events.recv().await {
        assert!(!matches!(e, MediaEvent::PlaybackDrained { .. }), "{e:?}");
    }
}
