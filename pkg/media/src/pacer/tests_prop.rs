//! Property tests: a simulated TTS producer pushes bursts at random times (faster
//! and slower than real time, with stalls, end-of-talkspurts and barge-in
//! flushes) while a driver wakes up late by a random amount for every deadline.

use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::{FRAME_DURATION, Pacer, PacerConfig};

#[derive(Debug, Clone)]
enum Action {
    Push(u8),
    End,
    Flush,
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        8 => (1u8..40).prop_map(Action::Push),
        1 => Just(Action::End),
        1 => Just(Action::Flush),
    ]
}

/// The largest wake-up delay of the simulated driver.
const MAX_LATENESS_US: u64 = 30_000;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn schedule_never_drifts(
        // (gap before the action in µs, action)
        script in prop::collection::vec((0u64..600_000, action()), 1..40),
        lateness in prop::collection::vec(0u64..MAX_LATENESS_US, 1..64),
    ) {
        let t0 = Instant::now();
        let config = PacerConfig {
            initial_sequence: 65500,
            initial_timestamp: u32::MAX - 5000,
            max_queued: Duration::from_millis(400),
            ..PacerConfig::default()
        };
        let mut p = Pacer::new(config);
        let mut wake = 0usize;
        let mut now = t0;
        let mut accepted = 0u64;
        // (sent at, due, header)
        let mut sent = Vec::new();
        let mut next_action = t0;
        let mut actions = script.iter();
        let mut pending = actions.next();
        loop {
            if let Some((gap, _)) = pending
                && next_action == now
            {
                next_action = now + Duration::from_micros(*gap);
            }
            let wake_at = p.poll_timeout().map(|d| {
                wake += 1;
                d + Duration::from_micros(lateness[wake % lateness.len()])
            });
            let (t, is_action) = match (pending.is_some(), wake_at) {
                (true, Some(w)) if w < next_action => (w, false),
                (true, _) => (next_action, true),
                (false, Some(w)) => (w, false),
                (false, None) => break,
            };
            now = now.max(t);
            if is_action {
                match pending.unwrap().1 {
                    Action::Push(n) => {
                        for i in 0..n {
                            if p.push(now, &[i; 160]).is_ok() {
                                accepted += 1;
                            }
                        }
                    }
                    Action::End => p.end_talkspurt(),
                    Action::Flush => { p.flush(); }
                }
                pending = actions.next();
                next_action = now;
            }
            p.handle_timeout(now);
            while let Some(pkt) = p.poll_output() {
                prop_assert_eq!(pkt.payload.len(), 160);
                sent.push((now, pkt.due, pkt.header));
            }
            prop_assert!(p.queued() <= Duration::from_millis(400));
        }

        let stats = p.stats();
        prop_assert_eq!(accepted, stats.sent + stats.flushed_frames + p.queued().as_millis() as u64 / 20);
        prop_assert_eq!(stats.sent as usize, sent.len());
        prop_assert_eq!(stats.talkspurts as usize, sent.iter().filter(|s| s.2.marker).count());
        let mut spurt_start = None;
        for (i, (at, due, h)) in sent.iter().enumerate() {
            // Sent no earlier than due, and no later than the driver's lateness.
            prop_assert!(at >= due);
            prop_assert!(*at - *due <= Duration::from_micros(MAX_LATENESS_US));
            if i == 0 {
                prop_assert!(h.marker);
                continue;
            }
            let (_, prev_due, prev) = sent[i - 1];
            prop_assert_eq!(h.sequence, prev.sequence.wrapping_add(1));
            prop_assert!(*due >= prev_due + FRAME_DURATION);
            // Timestamps follow the wall clock exactly between slots.
            let gap = *due - prev_due;
            let samples = (gap.as_nanos() * 8000 / 1_000_000_000) as u32;
            prop_assert_eq!(h.timestamp, prev.timestamp.wrapping_add(samples));
            if h.marker {
                spurt_start = Some(*due);
            } else {
                // Inside a talkspurt every slot sits on start + n·20 ms.
                let start = spurt_start.unwrap_or(sent[0].1);
                prop_assert_eq!((*due - start).as_nanos() % FRAME_DURATION.as_nanos(), 0);
            }
        }
    }
}
