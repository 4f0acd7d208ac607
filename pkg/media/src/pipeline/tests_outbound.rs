//! Outbound pipeline with synthetic time: every instant is `t0 + offset`.

use std::time::{Duration, Instant};

use super::{OutboundConfig, OutboundPipeline, TelephoneCodec};
use crate::codec::{Codec, Pcmu};
use crate::dtmf::TelephoneEvent;
use crate::pacer::PacerConfig;
use crate::resample::signal::{goertzel_fraction, tone, zero_crossing_freq};
use crate::rtp::RtpPacket;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn config() -> OutboundConfig {
    OutboundConfig {
        pacer: PacerConfig {
            ssrc: 0xabcd,
            initial_sequence: 65530, // wraps during the tests
            initial_timestamp: u32::MAX - 500,
            ..PacerConfig::default()
        },
        ..OutboundConfig::default()
    }
}

#[derive(Debug)]
struct Sent {
    at: Instant,
    marker: bool,
    pt: u8,
    seq: u16,
    ts: u32,
    payload: Vec<u8>,
}

/// Wakes exactly at every deadline up to `until`, collecting the packets.
fn drive(p: &mut OutboundPipeline, until: Instant) -> Vec<Sent> {
    let mut sent = Vec::new();
    while let Some(t) = p.poll_timeout().filter(|&t| t <= until) {
        p.handle_timeout(t);
        while let Some(bytes) = p.poll_transmit() {
            let r = RtpPacket::parse(bytes).unwrap();
            sent.push(Sent {
                at: t,
                marker: r.header.marker,
                pt: r.header.payload_type,
                seq: r.header.sequence,
                ts: r.header.timestamp,
                payload: r.payload.to_vec(),
            });
        }
    }
    sent
}

fn assert_continuous(sent: &[Sent], step: u32) {
    for w in sent.windows(2) {
        assert_eq!(w[1].seq, w[0].seq.wrapping_add(1));
        assert_eq!(w[1].ts, w[0].ts.wrapping_add(step));
        assert_eq!(w[1].at - w[0].at, ms(20));
    }
}

#[test]
fn a_24_khz_chunk_becomes_20_ms_ulaw_packets_on_a_drift_free_schedule() {
    let t0 = Instant::now();
    let mut p = OutboundPipeline::new(config()).unwrap();
    let pcm = tone(24000, 1000.0, 8000.0, 0, 24000); // one second
    assert_eq!(p.push_pcm(t0, &pcm, 24000).unwrap(), 50);
    assert_eq!(p.stats().queued, ms(1000));
    // Half a second in, another second arrives in odd-sized chunks.
    let mut sent = drive(&mut p, t0 + ms(500));
    for chunk in tone(24000, 1000.0, 8000.0, 24000, 24000).chunks(777) {
        p.push_pcm(t0 + ms(500), chunk, 24000).unwrap();
    }
    p.end_of_speech(t0 + ms(500)).unwrap();
    sent.extend(drive(&mut p, t0 + ms(5000)));
    // 100 frames plus one draining the resampler's 10 ms delay.
    assert_eq!(sent.len(), 101);
    for (n, s) in sent.iter().enumerate() {
        assert_eq!(s.at, t0 + ms(20) * n as u32, "packet {n}");
        assert_eq!((s.pt, s.payload.len(), s.marker), (0, 160, n == 0));
    }
    assert_eq!((sent[0].seq, sent[0].ts), (65530, u32::MAX - 500));
    assert_continuous(&sent, 160);
    let mut pcm8 = Vec::new();
    for s in &sent[2..99] {
        let mut out = [0i16; 160];
        Pcmu.decode(&s.payload, &mut out).unwrap();
        pcm8.extend_from_slice(&out);
    }
    let freq = zero_crossing_freq(&pcm8, 8000);
    assert!((freq - 1000.0).abs() < 2.0, "{freq} Hz");
    assert!(goertzel_fraction(&pcm8, 8000, 1000.0) > 0.98);
    let s = p.stats();
    assert_eq!((s.packets_sent, s.late_sends, s.underruns), (101, 0, 0));
    assert_eq!(
        (s.audio_sent, s.utterance_sent, s.queued),
        (ms(2020), ms(2020), ms(0))
    );
    assert_eq!(p.poll_timeout(), None);
}

#[test]
fn flush_stops_output_at_once_and_tells_what_was_heard() {
    let t0 = Instant::now();
    let mut p = OutboundPipeline::new(config()).unwrap();
    let pcm = tone(24000, 1000.0, 8000.0, 0, 24000 + 100);
    p.push_pcm(t0, &pcm, 24000).unwrap();
    let sent = drive(&mut p, t0 + ms(190));
    assert_eq!(sent.len(), 10);
    // 40 frames queued plus 100 samples (4.17 ms) waiting in the resampler.
    let dropped = p.flush();
    assert_eq!(dropped.as_micros(), 804_166);
    assert_eq!(p.poll_timeout(), None);
    p.handle_timeout(t0 + ms(10_000));
    assert!(p.poll_transmit().is_none());
    let s = p.stats();
    assert_eq!(
        (s.utterance_sent, s.queued, s.flushed),
        (ms(200), ms(0), dropped)
    );
    // The next reply starts a new talkspurt, continuing seq and timestamps.
    let next_at = t0 + ms(1000);
    p.push_pcm(next_at, &pcm[..480], 24000).unwrap();
    let after = drive(&mut p, next_at + ms(100));
    assert_eq!(after.len(), 1);
    assert!(after[0].marker);
    assert_eq!(after[0].seq, sent[9].seq.wrapping_add(1));
    assert_eq!(after[0].ts, sent[9].ts.wrapping_add(8000 - 180 * 8));
    assert_eq!(p.stats().utterance_sent, ms(20));
}

#[test]
fn digits_share_the_sequence_space_and_keep_one_timestamp() {
    let t0 = Instant::now();
    let mut p = OutboundPipeline::new(config()).unwrap();
    p.push_pcm(t0, &tone(24000, 440.0, 4000.0, 0, 960), 24000)
        .unwrap();
    p.send_dtmf(t0, '7').unwrap();
    let sent = drive(&mut p, t0 + ms(1000));
    // 2 audio frames, then 100 ms of '7': 4 updates + 3 ends.
    assert_eq!(sent.len(), 2 + 7);
    for w in sent.windows(2) {
        assert_eq!(w[1].seq, w[0].seq.wrapping_add(1));
        assert_eq!(w[1].at - w[0].at, ms(20));
    }
    let dtmf = &sent[2..];
    assert!(dtmf.iter().all(|s| s.pt == 101 && s.ts == dtmf[0].ts));
    assert_eq!(dtmf[0].ts, sent[1].ts.wrapping_add(160));
    assert!(dtmf[0].marker && dtmf[1..].iter().all(|s| !s.marker));
    let events: Vec<_> = dtmf
        .iter()
        .map(|s| TelephoneEvent::parse(&s.payload).unwrap())
        .collect();
    assert!(events.iter().all(|e| e.digit() == Some('7')));
    assert_eq!(events.iter().filter(|e| e.end).count(), 3);
    assert_eq!(events.last().unwrap().duration, 800);
    let s = p.stats();
    assert_eq!((s.dtmf_packets, s.audio_sent), (7, ms(40)));
}

#[test]
fn alaw_and_slin_are_selectable() {
    let t0 = Instant::now();
    for (codec, pt, len) in [
        (TelephoneCodec::Pcma, 8, 160),
        (TelephoneCodec::SLIN, 10, 320),
    ] {
        let mut p = OutboundPipeline::new(OutboundConfig {
            codec,
            input_rate: 16000,
            ..config()
        })
        .unwrap();
        p.push_pcm(t0, &tone(16000, 1000.0, 8000.0, 0, 640), 16000)
            .unwrap();
        let sent = drive(&mut p, t0 + ms(100));
        assert_eq!(sent.len(), 2);
        assert!(sent.iter().all(|s| s.pt == pt && s.payload.len() == len));
    }
}

#[test]
fn a_new_rate_rebuilds_the_resampler_after_draining_the_old_one() {
    let t0 = Instant::now();
    let mut p = OutboundPipeline::new(config()).unwrap();
    p.push_pcm(t0, &tone(24000, 1000.0, 8000.0, 0, 480 + 240), 24000)
        .unwrap();
    // 10 ms left over at 24 kHz: padded, plus nothing more (padding covers the delay).
    p.push_pcm(t0, &tone(8000, 1000.0, 8000.0, 0, 160), 8000)
        .unwrap();
    let sent = drive(&mut p, t0 + ms(1000));
    assert_eq!(sent.len(), 3);
    assert_continuous(&sent, 160);
    assert!(p.push_pcm(t0, &[0; 10], 11025).is_err());
}

#[test]
fn a_full_queue_drops_frames_and_says_so() {
    let t0 = Instant::now();
    let mut p = OutboundPipeline::new(OutboundConfig {
        pacer: PacerConfig {
            max_queued: ms(100),
            ..PacerConfig::default()
        },
        ..config()
    })
    .unwrap();
    let err = p.push_pcm(t0, &vec![0; 24000], 24000).unwrap_err();
    assert!(matches!(
        err,
        super::OutboundError::QueueFull { dropped: 45 }
    ));
    assert_eq!(p.stats().dropped_frames, 45);
    assert!(p.send_dtmf(t0, '1').is_err());
}

/// A producer far faster than real time (Piper: 1024-sample chunks at
/// 22.05 kHz), fed in slices of `pcm_room`, loses nothing however small the
/// pacer's queue, and the queue never holds more than the limit asked for.
#[test]
fn pushing_within_pcm_room_never_drops_a_frame() {
    let t0 = Instant::now();
    let mut p = OutboundPipeline::new(OutboundConfig {
        pacer: PacerConfig {
            max_queued: ms(200),
            ..PacerConfig::default()
        },
        ..config()
    })
    .unwrap();
    let (rate, limit) = (22_050, ms(120));
    let total = 22_050 * 3 + 17; // 3 s and a partial frame
    let pcm = tone(rate, 440.0, 8000.0, 0, total);
    let mut now = t0;
    let mut sent = Vec::new();
    let mut at = 0;
    for chunk in pcm.chunks(1024) {
        let mut chunk = chunk;
        while !chunk.is_empty() {
            let room = p.pcm_room(rate, limit);
            if room == 0 {
                // Wait for the next packet to go out, as the media task does.
                now = p.poll_timeout().expect("a full queue has a deadline");
                sent.extend(drive(&mut p, now));
                continue;
            }
            let n = room.min(chunk.len());
            p.push_pcm(now, &chunk[..n], rate).unwrap();
            at += n;
            chunk = &chunk[n..];
            assert!(p.queued() <= limit, "{:?} queued at {at}", p.queued());
        }
    }
    p.end_of_speech(now).unwrap();
    sent.extend(drive(&mut p, now + Duration::from_secs(10)));
    assert_eq!(p.stats().dropped_frames, 0);
    // 150 frames of audio, one padded partial frame, no tail (padding covers it).
    let frames = total.div_ceil(441);
    assert!(
        (frames..=frames + 1).contains(&sent.len()),
        "{} packets for {frames} frames",
        sent.len()
    );
    assert_continuous(&sent, 160);
}

/// A new rate drains the old resampler into the pacer first: the room for
/// it leaves space for that drain and for the end of speech.
#[test]
fn pcm_room_at_a_new_rate_leaves_space_for_the_drain() {
    let t0 = Instant::now();
    let mut p = OutboundPipeline::new(OutboundConfig {
        pacer: PacerConfig {
            max_queued: ms(100),
            ..PacerConfig::default()
        },
        ..config()
    })
    .unwrap();
    // 5 slots, 2 kept for the drain: 3 frames at 24 kHz, less the 100 pending.
    assert_eq!(p.pcm_room(24_000, ms(1_000)), 3 * 480);
    p.push_pcm(t0, &[1; 100], 24_000).unwrap();
    assert_eq!(p.pcm_room(24_000, ms(1_000)), 3 * 480 - 100);
    assert_eq!(p.pcm_room(24_000, ms(40)), 2 * 480 - 100);
    // Another rate: the old partial frame and tail take two more frames.
    assert_eq!(p.pcm_room(8_000, ms(1_000)), 160);
    p.push_pcm(t0, &[1; 160], 8_000).unwrap();
    p.end_of_speech(t0).unwrap();
    assert_eq!(p.stats().dropped_frames, 0);
    // The 24 kHz partial frame (its padding covers the delay), the 8 kHz one.
    assert_eq!(p.queued(), ms(40));
}

/// Barge-in hold: a pause stops output at once, audio pushed meanwhile
/// queues, and the resume goes on from the first frame not sent: the caller
/// hears exactly the packets of an uninterrupted run, none lost or repeated.
#[test]
fn a_pause_keeps_the_place_and_a_resume_goes_on_from_it() {
    let t0 = Instant::now();
    // A rising tone: every frame's payload differs from the others.
    let pcm: Vec<i16> = tone(24000, 300.0, 8000.0, 0, 24000)
        .iter()
        .enumerate()
        .map(|(i, s)| (f64::from(*s) * (0.2 + i as f64 / 30000.0)) as i16)
        .collect();
    let (first, rest) = pcm.split_at(12000);
    let mut reference = OutboundPipeline::new(config()).unwrap();
    reference.push_pcm(t0, &pcm, 24000).unwrap();
    reference.end_of_speech(t0).unwrap();
    let whole = drive(&mut reference, t0 + ms(5000));

    let mut p = OutboundPipeline::new(config()).unwrap();
    p.push_pcm(t0, first, 24000).unwrap();
    let mut sent = drive(&mut p, t0 + ms(190));
    assert_eq!(sent.len(), 10);
    assert!(p.last_level() > 0, "a tone's packet has a level");
    p.pause();
    assert!(p.is_paused());
    // Nothing goes out while paused, however late the clock runs; audio
    // still queues behind the held frames.
    assert_eq!(p.poll_timeout(), None);
    p.handle_timeout(t0 + ms(400));
    assert!(p.poll_transmit().is_none());
    p.push_pcm(t0 + ms(400), rest, 24000).unwrap();
    p.end_of_speech(t0 + ms(400)).unwrap();
    assert_eq!(p.poll_timeout(), None);
    let resumed_at = t0 + ms(550);
    p.resume(resumed_at);
    assert!(!p.is_paused());
    assert_eq!(p.poll_timeout(), Some(resumed_at));
    let after = drive(&mut p, t0 + ms(5000));
    // The rest of the sentence, from where it stopped, as a new talkspurt.
    assert_eq!(after[0].at, resumed_at);
    assert!(after[0].marker);
    assert_eq!(after[0].seq, sent[9].seq.wrapping_add(1));
    assert_continuous(&after, 160);
    sent.extend(after);
    let payloads = |s: &[Sent]| s.iter().map(|p| p.payload.clone()).collect::<Vec<_>>();
    assert_eq!(payloads(&sent), payloads(&whole));
    assert_eq!(p.stats().utterance_sent, reference.stats().utterance_sent);
}

/// A pause then a flush (the hold decided it was speech): the held frames
/// are dropped and reported, and the next reply plays at once.
#[test]
fn a_flush_during_a_pause_drops_the_held_audio() {
    let t0 = Instant::now();
    let mut p = OutboundPipeline::new(config()).unwrap();
    p.push_pcm(t0, &tone(24000, 1000.0, 8000.0, 0, 24000), 24000)
        .unwrap();
    drive(&mut p, t0 + ms(190));
    p.pause();
    assert_eq!(p.flush(), ms(800));
    assert!(!p.is_paused());
    p.push_pcm(t0 + ms(300), &tone(24000, 1000.0, 8000.0, 0, 480), 24000)
        .unwrap();
    assert_eq!(p.poll_timeout(), Some(t0 + ms(300)));
    assert_eq!(p.stats().utterance_sent, ms(0));
}
