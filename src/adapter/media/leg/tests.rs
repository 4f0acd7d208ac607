//! The leg's loop body driven with synthetic time: no socket, no sleeping.

use super::*;
use crate::adapter::media::setup;
use crate::application::ports::{media::Transport, telephony::WireFormat};
use ::media::pacer::FRAME_DURATION;
use ::media::vad::{EnergyConfig, EnergyVad, VadConfig};
use std::net::SocketAddr;

/// A wire that takes every packet at once and counts it.
#[derive(Debug, Default)]
struct Counting {
    sent: usize,
}

impl Wire for Counting {
    type Input = ();

    async fn recv(&mut self) {
        std::future::pending().await
    }

    fn handle<V: VoiceActivityDetector>(
        &mut self,
        (): (),
        _: Instant,
        _: &mut InboundPipeline<V>,
        _: &mut Emitter,
        _: &MediaMetrics,
    ) -> Flow {
        Flow::Continue
    }

    async fn send(&mut self, _: &mut [u8], _: usize) -> std::io::Result<bool> {
        self.sent += 1;
        Ok(true)
    }

    fn set_peer(&mut self, _: SocketAddr) {}
}

/// The leg's channels' other ends, kept open.
struct Ends {
    commands: mpsc::Sender<MediaCommand>,
    _audio: mpsc::Sender<AgentAudio>,
    events: mpsc::Receiver<MediaEvent>,
}

/// A µ-law leg with the smallest lead the endpoint allows (3 frames).
fn leg() -> (Leg<EnergyVad, Counting>, Ends) {
    let lead = FRAME_DURATION * 3;
    let inbound = setup::inbound(
        Transport::Rtp,
        WireFormat::Ulaw,
        8_000,
        (Duration::ZERO, Duration::ZERO),
    );
    let vad = EnergyVad::new(VadConfig::default(), EnergyConfig::default());
    let outbound = setup::outbound(Transport::Rtp, WireFormat::Ulaw, lead + FRAME_DURATION * 4);
    let (events_tx, events) = mpsc::channel(64);
    let (commands_tx, commands) = mpsc::channel(4);
    let (audio_tx, audio) = mpsc::channel(4);
    let call = CallId::parse("late-leg").unwrap();
    let metrics = MediaMetrics::default();
    let leg = Leg {
        wire: Counting::default(),
        call: call.clone(),
        inbound: InboundPipeline::new(inbound, vad).unwrap(),
        out: Outbound::new(
            OutboundPipeline::new(outbound).unwrap(),
            None,
            metrics.clone(),
        ),
        pacing: None,
        emit: Emitter::new(events_tx, metrics.clone(), call, false),
        commands,
        audio,
        play_lead: lead,
        metrics,
    };
    let ends = Ends {
        commands: commands_tx,
        _audio: audio_tx,
        events,
    };
    (leg, ends)
}

/// `ms` of agent audio at 8 kHz, then its end.
fn reply(ms: usize) -> Vec<AgentAudio> {
    let pcm = (0..ms * 8).map(|i| ((i % 40) as i16 - 20) * 500).collect();
    vec![
        AgentAudio {
            generation: 0,
            chunk: AudioChunk::Pcm { pcm, rate: 8_000 },
        },
        AgentAudio {
            generation: 0,
            chunk: AudioChunk::EndOfSpeech,
        },
    ]
}

/// Runs the loop's wakes from `t` as the task would, every wake exactly at
/// the next deadline, reading audio whenever the loop would: until the
/// reply is drained, or nothing is scheduled and no audio would be read
/// (a stall: nothing would ever wake the leg again), or 1,000 wakes.
async fn play_out(
    leg: &mut Leg<EnergyVad, Counting>,
    st: &mut State,
    mut t: Instant,
    audio: &mut Vec<AgentAudio>,
) -> bool {
    for _ in 0..1_000 {
        let wants_audio = st.pending.is_none() && leg.out.lock().pipeline.queued() < leg.play_lead;
        if wants_audio && !audio.is_empty() {
            let a = audio.remove(0);
            leg.agent_audio(st, t, a);
        } else if let Some(due) = leg.out.lock().pipeline.poll_timeout() {
            t = t.max(due);
        } else if !st.awaiting_drain {
            // Drained and reported, or stalled with audio left.
            return audio.is_empty() && st.pending.is_none();
        } else {
            // Awaiting the drain with nothing scheduled: the next drive reports it.
        }
        assert_eq!(leg.drive(st, t).await, Flow::Continue);
    }
    false
}

/// The task starved for longer than its lead while a chunk was part-queued
/// (120 calls on two busy cores): at its late wake-up every queued packet is
/// due at once. It sends them all, and the rest of the chunk must follow —
/// not wait for a packet to make room when none is left to send, which
/// stalled the leg mid-sentence for good (the speech never drained, the
/// session's synthesis backpressured behind it).
#[tokio::test]
async fn a_wake_up_later_than_the_lead_goes_on_with_the_rest_of_the_chunk() {
    let (mut leg, mut ends) = leg();
    let t0 = Instant::now();
    let mut st = State::new(t0);
    let mut audio = reply(1_000);
    leg.agent_audio(&mut st, t0, audio.remove(0));
    assert_eq!(leg.drive(&mut st, t0).await, Flow::Continue);
    assert!(
        st.pending.is_some(),
        "a 1 s chunk does not fit a 60 ms lead"
    );
    // Woken 500 ms late: the whole queue is due.
    let late = t0 + Duration::from_millis(500);
    assert_eq!(leg.drive(&mut st, late).await, Flow::Continue);
    assert!(
        leg.out.lock().pipeline.poll_timeout().is_some() || st.pending.is_none(),
        "audio waiting with no packet scheduled: queued {:?}, waiting {:?}",
        leg.out.lock().pipeline.queued(),
        st.pending.as_ref().map(Pending::rest_duration)
    );
    assert!(
        play_out(&mut leg, &mut st, late, &mut audio).await,
        "the leg stalled"
    );
    assert_eq!(leg.wire.sent, 50, "every 20 ms of the second sent");
    let drained = std::iter::from_fn(|| ends.events.try_recv().ok())
        .filter(|e| matches!(e, MediaEvent::PlaybackDrained { .. }))
        .count();
    assert_eq!(drained, 1);
}

/// The same reply with the task on time: every packet at its slot.
#[tokio::test]
async fn a_reply_longer_than_the_lead_plays_out_on_time() {
    let (mut leg, mut ends) = leg();
    let t0 = Instant::now();
    let mut st = State::new(t0);
    let mut audio = reply(1_000);
    assert!(
        play_out(&mut leg, &mut st, t0, &mut audio).await,
        "the leg stalled"
    );
    assert_eq!(leg.wire.sent, 50);
    assert_eq!(leg.out.lock().pipeline.stats().late_sends, 0);
    assert!(
        std::iter::from_fn(|| ends.events.try_recv().ok())
            .any(|e| matches!(e, MediaEvent::PlaybackDrained { .. }))
    );
}

/// Caller audio gathered when the session closes the leg still goes up
/// (the session may read it before it drops its end).
#[tokio::test]
async fn audio_gathered_goes_up_when_the_leg_closes() {
    let (mut leg, mut ends) = leg();
    let now = Instant::now();
    assert_eq!(leg.emit.audio(&[7; 160], 8_000, now, now), Flow::Continue);
    assert!(
        ends.events.try_recv().is_err(),
        "one frame is gathered, not sent"
    );
    ends.commands.send(MediaCommand::Close).await.unwrap();
    leg.run().await;
    match ends.events.try_recv() {
        Ok(MediaEvent::Audio(c)) => assert_eq!((c.pcm, c.at), (vec![7; 160], now)),
        other => panic!("expected the gathered audio, got {other:?}"),
    }
}
