//! Agent audio out: pacing, numbering, flush on barge-in, drained.

use super::support::*;
use crate::adapter::media::{UdpMediaConfig, UdpMediaEndpoint};
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
        .audio
        .send(pcm_chunk(0, pcm, 24_000))
        .await
        .unwrap();
}

/// A leg of `ep` sending to a fresh peer socket.
async fn open_to_peer(ep: &UdpMediaEndpoint) -> (crate::application::ports::media::MediaLeg, Peer) {
    let leg = open(ep).await;
    let peer = Peer::new().await;
    leg.commands
        .control
        .send(MediaCommand::SetPeer(peer.addr()))
        .await
        .unwrap();
    (leg, peer)
}

#[tokio::test]
async fn one_second_of_tts_goes_out_as_about_50_paced_packets() {
    let ep = endpoint(1);
    let (mut leg, peer) = open_to_peer(&ep).await;
    play(&leg, 1.0).await;
    leg.commands.audio.send(end_of_speech(0)).await.unwrap();
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
    let (mut leg, peer) = open_to_peer(&ep).await;
    play(&leg, 3.0).await;
    let mut received = 0;
    while received < 25 {
        peer.recv(PATIENCE).await.expect("packets flow");
        received += 1;
    }
    let (tx, rx) = oneshot::channel();
    leg.commands
        .control
        .send(MediaCommand::Flush {
            generation: 1,
            reply: tx,
        })
        .await
        .unwrap();
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
    leg.commands
        .control
        .send(MediaCommand::Close)
        .await
        .unwrap();
    while let Some(e) = leg.events.recv().await {
        assert!(!matches!(e, MediaEvent::PlaybackDrained { .. }), "{e:?}");
    }
}

/// An endpoint whose legs keep `lead` queued in a pacer bounded at `max`.
fn small_pacer_endpoint(lead: u64, max: u64, audio_capacity: usize) -> UdpMediaEndpoint {
    let mut config = UdpMediaConfig::new(LOCAL, free_range(1));
    config.play_lead = Duration::from_millis(lead);
    config.max_queued = Duration::from_millis(max);
    config.audio_capacity = audio_capacity;
    UdpMediaEndpoint::new(config)
}

/// Reads packets until `leg` reports the playback drained, then what is left.
async fn packets_until_drained(
    leg: &mut crate::application::ports::media::MediaLeg,
    peer: &Peer,
) -> Vec<(::media::rtp::RtpHeader, Vec<u8>)> {
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let mut drained = false;
    while !drained {
        let mut buf = [0u8; 2048];
        tokio::select! {
            r = peer.socket.recv_from(&mut buf) => {
                let (n, _) = r.unwrap();
                let p = ::media::rtp::RtpPacket::parse(&buf[..n]).unwrap();
                out.push((p.header, p.payload.to_vec()));
            }
            e = leg.events.recv() => {
                drained = matches!(e, Some(MediaEvent::PlaybackDrained { .. }));
            }
            () = tokio::time::sleep_until(deadline) => panic!("not drained; {} packets", out.len()),
        }
    }
    // Sent before the event: already waiting in the socket.
    let mut buf = [0u8; 2048];
    while let Ok(r) =
        tokio::time::timeout(Duration::from_millis(100), peer.socket.recv_from(&mut buf)).await
    {
        let p = ::media::rtp::RtpPacket::parse(&buf[..r.unwrap().0]).unwrap();
        out.push((p.header, p.payload.to_vec()));
    }
    out
}

/// Piper: 1024-sample chunks at 22.05 kHz, as fast as they can be sent, five
/// times what the pacer holds. Every frame goes out, paced and continuous.
#[tokio::test]
async fn a_producer_faster_than_real_time_loses_no_frame() {
    let ep = small_pacer_endpoint(200, 400, 4);
    let (mut leg, peer) = open_to_peer(&ep).await;
    let total = 22_050 * 2; // 2 s: 100 frames
    let pcm: Vec<i16> = (0..total)
        .map(|i| {
            (8_000.0 * (2.0 * std::f64::consts::PI * 440.0 * i as f64 / 22_050.0).sin()) as i16
        })
        .collect();
    let started = Instant::now();
    for chunk in pcm.chunks(1024) {
        let send = leg
            .commands
            .audio
            .send(pcm_chunk(0, chunk.to_vec(), 22_050));
        tokio::time::timeout(PATIENCE, send).await.unwrap().unwrap();
    }
    leg.commands.audio.send(end_of_speech(0)).await.unwrap();
    let packets = packets_until_drained(&mut leg, &peer).await;
    let span = started.elapsed();
    // 100 frames and the resampler's tail (its delay is 10 ms at 22.05 kHz).
    assert_eq!(packets.len(), 101, "every frame sent");
    assert_eq!(ep.metrics().packets_out.get(), 101);
    let first = packets[0].0;
    for (i, (h, _)) in packets.iter().enumerate() {
        assert_eq!(h.sequence, first.sequence.wrapping_add(i as u16));
        assert_eq!(
            h.timestamp,
            first.timestamp.wrapping_add(160 * i as u32),
            "no gap"
        );
        assert_eq!(h.marker, i == 0, "one talkspurt");
    }
    assert!(span >= Duration::from_millis(1_900), "paced: {span:?}");
}

/// Audio still in the audio channel and in the leg when a flush comes is
/// never sent after it; audio of the next generation plays.
#[tokio::test]
async fn a_flush_drops_audio_waiting_upstream_of_the_pacer() {
    let ep = small_pacer_endpoint(200, 400, 4);
    let (mut leg, peer) = open_to_peer(&ep).await;
    // Five 1 s chunks of tone: one being sliced into the pacer, four waiting.
    let mut queued = 0;
    while queued < 5 {
        let chunk = pcm_chunk(0, tts_audio(1.0), 24_000);
        if leg.commands.audio.try_send(chunk).is_ok() {
            queued += 1;
        } else {
            // The channel is full until the leg took the first chunk.
            tokio::task::yield_now().await;
        }
    }
    let mut before = 0;
    while before < 5 {
        let (_, len, _) = peer.recv(PATIENCE).await.expect("tone flows");
        assert_eq!(len, 160);
        before += 1;
    }
    let (tx, rx) = oneshot::channel();
    let flush = MediaCommand::Flush {
        generation: 1,
        reply: tx,
    };
    leg.commands.control.send(flush).await.unwrap();
    let report = tokio::time::timeout(PATIENCE, rx).await.unwrap().unwrap();
    assert!(
        report.dropped >= Duration::from_millis(800),
        "the pacer's and the pending chunk's audio: {report:?}"
    );
    // The next reply: 300 ms of digital silence (µ-law 0xFF).
    leg.commands
        .audio
        .send(pcm_chunk(1, vec![0; 7_200], 24_000))
        .await
        .unwrap();
    leg.commands.audio.send(end_of_speech(1)).await.unwrap();
    let packets = packets_until_drained(&mut leg, &peer).await;
    // At most one tone packet was in flight when the flush was read.
    let tone = packets
        .iter()
        .take_while(|(_, p)| p.iter().any(|&b| b != 0xFF))
        .count();
    assert!(tone <= 1, "{tone} tone packets after the flush");
    let rest = &packets[tone..];
    assert!(
        rest.iter().all(|(_, p)| p.iter().all(|&b| b == 0xFF)),
        "only the new reply after the flush"
    );
    assert!(
        (15..=16).contains(&rest.len()),
        "{} packets of the 300 ms reply",
        rest.len()
    );
}

/// Barge-in hold: `PausePlayout` stops the packets at once and keeps the
/// place; no drained event comes while paused; `ResumePlayout` sends the
/// rest, continuing the sequence numbers, so every frame of the second is
/// sent exactly once.
#[tokio::test]
async fn a_pause_holds_the_packets_and_a_resume_sends_the_rest_once() {
    let ep = endpoint(1);
    let (mut leg, peer) = open_to_peer(&ep).await;
    play(&leg, 1.0).await;
    leg.commands.audio.send(end_of_speech(0)).await.unwrap();
    let mut before = Vec::new();
    while before.len() < 15 {
        before.push(peer.recv(PATIENCE).await.expect("packets flow").0);
    }
    let pause = MediaCommand::PausePlayout;
    leg.commands.control.send(pause).await.unwrap();
    let paused = Instant::now();
    // One packet may have been on its way; then nothing.
    let mut late = Vec::new();
    while let Some((h, _, at)) = peer.recv(Duration::from_millis(400)).await {
        assert!(
            at <= paused + Duration::from_millis(20),
            "sent while paused"
        );
        late.push(h);
    }
    before.extend(late);
    while let Ok(e) = leg.events.try_recv() {
        assert!(!matches!(e, MediaEvent::PlaybackDrained { .. }), "{e:?}");
    }
    let resume = MediaCommand::ResumePlayout;
    leg.commands.control.send(resume).await.unwrap();
    let rest = packets_until_drained(&mut leg, &peer).await;
    let n = before.len() + rest.len();
    assert!((50..=52).contains(&n), "{n} packets for 1 s, paused or not");
    let first = before[0];
    let all = before.iter().chain(rest.iter().map(|(h, _)| h));
    for (i, h) in all.enumerate() {
        assert_eq!(
            h.sequence,
            first.sequence.wrapping_add(i as u16),
            "no gap, no repeat"
        );
        // A new talkspurt after the pause: the marker bit says so.
        assert_eq!(
            h.marker,
            i == 0 || i == before.len(),
            "marker at packet {i}"
        );
    }
}
