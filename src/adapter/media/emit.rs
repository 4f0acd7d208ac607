//! Events from a leg to its session: never blocking the media task.
//!
//! Audio goes with `try_send`: a slow session loses frames (counted) rather
//! than stalling pacing. Audio never takes the channel's last slots
//! ([`control_reserve`]): they are kept for control events, which go with
//! `try_send` too, as the task must not wait either. So a session that falls
//! seconds behind under load loses caller audio, not the `PlaybackDrained`
//! that ends its agent's speech (once lost, the call stayed in its speech for
//! ever). Losing a control event still means the session is stuck, so it is
//! logged as an error.
//!
//! Caller audio is gathered into chunks of [`CALLER_CHUNK`] ([`Batch`]): the
//! session and its STT get one event per chunk, not per 20 ms frame. Once the
//! session names its recogniser (`MediaCommand::Listen`), the chunks go
//! straight to it and the session is not woken for them at all. A VAD, DTMF
//! or tone event first hands up the audio gathered so far, then goes at
//! once: an onset is never delayed, and the audio before a speech end reaches
//! the STT before the session finishes the utterance.

use super::metrics::MediaMetrics;
use crate::application::ports::media::{CALLER_CHUNK, CallerAudio, MediaEvent};
use crate::application::ports::speech::{SttAudio, SttError};
use crate::domain::CallId;
use ::media::echo::{EchoReference, frame_level};
use ::media::pipeline::{InboundOutput, InboundPipeline};
use ::media::tone::{Tone, ToneConfig, ToneDetector};
use ::media::vad::{VadEvent, VoiceActivityDetector};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::{self, error::TrySendError};

/// Whether the leg goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    Continue,
    /// The session is gone (or asked to close).
    Stop,
}

/// Slots of a leg's event channel audio leaves free for control events: a
/// quarter of it, at most 32 (a turn has a handful of control events).
fn control_reserve(capacity: usize) -> usize {
    (capacity / 4).min(32)
}

/// Slots of a leg's event channel audio may fill: what control events leave,
/// divided by the frames in a chunk, so that a session that stopped reading
/// has no more audio queued (in time, and about in bytes) than it had when
/// each 20 ms frame took a slot: 4.5 s with the default 256 slots.
fn audio_room(capacity: usize, chunk_frames: usize) -> usize {
    ((capacity - control_reserve(capacity)) / chunk_frames.max(1)).max(1)
}

/// The sending half of a leg's events, with its counters.
pub(crate) struct Emitter {
    pub(crate) events: mpsc::Sender<MediaEvent>,
    pub(crate) metrics: MediaMetrics,
    pub(crate) call: CallId,
    /// The wire and the STT both run at 16 kHz or more: frames count as wideband.
    pub(crate) wideband: bool,
    /// The levels sent and heard, to tell our own echo from the caller:
    /// the leg records what it sends, each heard frame goes in here.
    pub(crate) echo: EchoReference,
    /// Listens for an answering machine's beep while the session screens
    /// the call (`MediaCommand::WatchTones`); `None` the rest of the time.
    pub(crate) tones: Option<ToneDetector>,
    /// Caller audio not handed up yet.
    pub(crate) batch: Batch,
    /// Where caller audio goes: up to the session until it says
    /// (`MediaCommand::Listen`), then to its recogniser, or nowhere.
    pub(crate) audio_to: AudioTo,
}

/// Where a leg's caller audio goes.
#[derive(Debug)]
pub(crate) enum AudioTo {
    /// Up to the session, as [`MediaEvent::Audio`].
    Session,
    /// Straight to the recogniser; dropped while there is none.
    Stt(Option<SttAudio>),
}

/// Caller audio gathered for the next [`MediaEvent::Audio`].
#[derive(Debug)]
pub(crate) struct Batch {
    /// Handed up once it holds this much.
    chunk: Duration,
    pcm: Vec<i16>,
    rate: u32,
    /// Playout time of the first sample.
    at: Option<Instant>,
    /// Handed up by then even if no more audio comes (a caller who stops
    /// sending mid-word).
    due: Option<Instant>,
}

impl Batch {
    pub(crate) fn new(chunk: Duration) -> Self {
        Self {
            chunk,
            pcm: Vec::new(),
            rate: 0,
            at: None,
            due: None,
        }
    }

    /// Adds a frame heard at `now` (at the rate of the frames before it:
    /// [`takes`](Self::takes) says); the chunk to hand up once full.
    fn push(&mut self, pcm: &[i16], rate: u32, at: Instant, now: Instant) -> Option<CallerAudio> {
        let want = samples_in(self.chunk, rate).max(pcm.len());
        if self.at.is_none() {
            self.rate = rate;
            self.at = Some(at);
            self.due = Some(now + self.chunk);
            // The one allocation of the chunk: it goes to the STT as it is.
            self.pcm = Vec::with_capacity(want);
        }
        self.pcm.extend_from_slice(pcm);
        if self.pcm.len() >= want {
            return self.take();
        }
        None
    }

    /// 20 ms frames in a full chunk.
    fn frames(&self) -> usize {
        (self.chunk.as_millis() / 20).max(1) as usize
    }

    /// Whether audio at `rate` may join what is gathered.
    fn takes(&self, rate: u32) -> bool {
        self.at.is_none() || self.rate == rate
    }

    /// When the audio gathered is handed up even if no more comes.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.due
    }

    /// The audio gathered, if any.
    fn take(&mut self) -> Option<CallerAudio> {
        let at = self.at.take()?;
        self.due = None;
        Some(CallerAudio {
            pcm: std::mem::take(&mut self.pcm),
            rate: self.rate,
            at,
        })
    }
}

/// Samples in `d` at `rate`.
fn samples_in(d: Duration, rate: u32) -> usize {
    (u128::from(rate) * d.as_nanos() / 1_000_000_000) as usize
}

impl Emitter {
    pub(crate) fn new(
        events: mpsc::Sender<MediaEvent>,
        metrics: MediaMetrics,
        call: CallId,
        wideband: bool,
    ) -> Self {
        Self {
            events,
            metrics,
            call,
            wideband,
            echo: EchoReference::new(::media::echo::EchoConfig::default()),
            tones: None,
            batch: Batch::new(CALLER_CHUNK),
            audio_to: AudioTo::Session,
        }
    }

    /// Sends caller audio to `stt` from now on (`MediaCommand::Listen`).
    /// What is gathered goes first, where audio went until now.
    pub(crate) fn listen(&mut self, stt: Option<SttAudio>) -> Flow {
        let flow = self.flush_audio();
        self.audio_to = AudioTo::Stt(stt);
        flow
    }

    /// Resolves once the session dropped its receiver. Owned (a sender of
    /// its own), so the leg keeps one for its whole life: a fresh
    /// `Sender::closed` per wake joined and left the channel's waiter list,
    /// two lock round trips on every one of the leg's 50-100 wakes a second.
    pub(crate) fn closed(&self) -> impl Future<Output = ()> + use<> {
        let events = self.events.clone();
        async move { events.closed().await }
    }

    /// Starts or stops listening for tones in audio at `rate`.
    pub(crate) fn watch_tones(&mut self, on: bool, rate: u32) {
        self.tones = if on {
            ToneDetector::new(ToneConfig::default(), rate)
                .inspect_err(
                    |e| tracing::warn!(call = %self.call, rate, error = %e, "no tone detection"),
                )
                .ok()
        } else {
            None
        };
    }

    /// When a tone in progress ends, or the caller audio gathered is handed
    /// up, if no more audio comes.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        let tone = self.tones.as_ref().and_then(ToneDetector::poll_timeout);
        tone.into_iter().chain(self.batch.deadline()).min()
    }

    /// Reports a tone whose audio stopped by `now`, and hands up caller
    /// audio gathered for too long.
    pub(crate) fn timeout(&mut self, now: Instant) -> Flow {
        if self.batch.deadline().is_some_and(|d| d <= now) && self.flush_audio() == Flow::Stop {
            return Flow::Stop;
        }
        match self.tones.as_mut().and_then(|d| d.handle_timeout(now)) {
            Some(t) => self.tone(t),
            None => Flow::Continue,
        }
    }

    /// Hands up the caller audio gathered so far (before an event that must
    /// follow it, and when the leg ends).
    pub(crate) fn flush_audio(&mut self) -> Flow {
        match self.batch.take() {
            Some(chunk) => self.send_audio(chunk),
            None => Flow::Continue,
        }
    }

    fn tone(&self, t: Tone) -> Flow {
        self.control(MediaEvent::Tone {
            start: t.start,
            end: t.end,
            hz: t.hz,
        })
    }

    /// Sends a control event without waiting.
    pub(crate) fn control(&self, event: MediaEvent) -> Flow {
        match self.events.try_send(event) {
            Ok(()) => Flow::Continue,
            Err(TrySendError::Closed(_)) => Flow::Stop,
            Err(TrySendError::Full(event)) => {
                self.metrics.control_events_lost.inc();
                tracing::error!(call = %self.call, ?event, "media event channel full: control event lost");
                Flow::Continue
            }
        }
    }

    /// Delivers everything the inbound pipeline has due by `now`: audio into
    /// the chunk being gathered, any other event at once after the audio
    /// before it. Heard levels go into the echo reference, which judges each
    /// onset.
    pub(crate) fn inbound<V: VoiceActivityDetector>(
        &mut self,
        p: &mut InboundPipeline<V>,
        now: Instant,
    ) -> Flow {
        let rate = p.config().output_rate;
        while let Some(out) = p.poll_output() {
            let flow = match out {
                InboundOutput::Audio { pcm, at } => {
                    self.echo.record_heard(at, frame_level(pcm));
                    match self.tones.as_mut().and_then(|d| d.push(at, pcm)) {
                        Some(t) => self.event(|e| e.tone(t)),
                        None => Flow::Continue,
                    }
                    .and(|| self.audio(pcm, rate, at, now))
                }
                InboundOutput::Vad(VadEvent::SpeechStart { at }) => {
                    let echo = self.echo.is_echo();
                    self.event(|e| e.control(MediaEvent::SpeechStarted { at, echo }))
                }
                InboundOutput::Vad(VadEvent::SpeechPause { at }) => {
                    self.event(|e| e.control(MediaEvent::SpeechPaused { at }))
                }
                InboundOutput::Vad(VadEvent::SpeechEnd { at }) => {
                    self.event(|e| e.control(MediaEvent::SpeechEnded { at }))
                }
                InboundOutput::Dtmf(d) => {
                    self.event(|e| e.control(MediaEvent::Dtmf { digit: d.digit }))
                }
            };
            if flow == Flow::Stop {
                return Flow::Stop;
            }
        }
        Flow::Continue
    }

    /// An event about the caller's audio a wire read itself (a digit): the
    /// audio before it goes first.
    pub(crate) fn caller_event(&mut self, event: MediaEvent) -> Flow {
        self.event(|e| e.control(event))
    }

    /// An event about the caller's audio: the audio before it goes first.
    fn event(&mut self, send: impl FnOnce(&Self) -> Flow) -> Flow {
        self.flush_audio().and(|| send(self))
    }

    /// One frame into the chunk being gathered; the chunk goes up once full.
    pub(crate) fn audio(&mut self, pcm: &[i16], rate: u32, at: Instant, now: Instant) -> Flow {
        if !self.batch.takes(rate) && self.flush_audio() == Flow::Stop {
            return Flow::Stop;
        }
        match self.batch.push(pcm, rate, at, now) {
            Some(chunk) => self.send_audio(chunk),
            None => Flow::Continue,
        }
    }

    /// Hands a chunk on without waiting: to the session, or straight to the
    /// recogniser. Dropped (and counted in 20 ms frames) when the session is
    /// behind; the recogniser counts its own drops.
    fn send_audio(&mut self, chunk: CallerAudio) -> Flow {
        let frames = frames_in(chunk.pcm.len(), chunk.rate);
        let stt = match &self.audio_to {
            AudioTo::Session => return self.send_up(chunk, frames),
            AudioTo::Stt(None) => return Flow::Continue,
            AudioTo::Stt(Some(stt)) => stt,
        };
        match stt.push(chunk.pcm) {
            Ok(()) => self.count_wideband(frames),
            // The provider is behind: it dropped the chunk and counted it.
            Err(SttError::Overrun { .. }) => {}
            // The recogniser is gone; the session names the next one.
            Err(_) => self.audio_to = AudioTo::Stt(None),
        }
        Flow::Continue
    }

    /// Hands a chunk up to the session as [`MediaEvent::Audio`].
    fn send_up(&self, chunk: CallerAudio, frames: u64) -> Flow {
        let max = self.events.max_capacity();
        let queued = max - self.events.capacity();
        if queued >= audio_room(max, self.batch.frames()) {
            self.metrics.audio_frames_dropped.inc_by(frames);
            return Flow::Continue;
        }
        match self.events.try_send(MediaEvent::Audio(chunk)) {
            Ok(()) => self.count_wideband(frames),
            Err(TrySendError::Full(_)) => {
                self.metrics.audio_frames_dropped.inc_by(frames);
            }
            Err(TrySendError::Closed(_)) => return Flow::Stop,
        }
        Flow::Continue
    }

    fn count_wideband(&self, frames: u64) {
        if self.wideband {
            self.metrics.wideband_frames_in.inc_by(frames);
        }
    }
}

impl Flow {
    /// `next` unless this is `Stop`.
    fn and(self, next: impl FnOnce() -> Flow) -> Flow {
        match self {
            Flow::Continue => next(),
            Flow::Stop => Flow::Stop,
        }
    }
}

/// 20 ms frames in `samples` at `rate` (a part frame counts whole).
fn frames_in(samples: usize, rate: u32) -> u64 {
    let frame = (rate / 50).max(1) as usize;
    samples.div_ceil(frame) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emitter(capacity: usize, chunk: Duration) -> (Emitter, mpsc::Receiver<MediaEvent>) {
        let (events, rx) = mpsc::channel(capacity);
        let mut e = Emitter::new(
            events,
            MediaMetrics::default(),
            CallId::parse("c-1").unwrap(),
            false,
        );
        e.batch = Batch::new(chunk);
        (e, rx)
    }

    const FRAME: Duration = Duration::from_millis(20);

    /// Frame `n` of a 16 kHz ramp: sample values tell the frames apart.
    fn frame(n: usize) -> Vec<i16> {
        (0..320).map(|i| (n * 320 + i) as i16).collect()
    }

    /// A session that stopped reading for a while (its loop behind under
    /// load) gets caller audio dropped, but still every control event.
    #[test]
    fn audio_never_takes_the_room_of_control_events() {
        let (mut e, mut rx) = emitter(64, FRAME);
        let frame = [0i16; 160];
        let now = Instant::now();
        for _ in 0..200 {
            assert_eq!(e.audio(&frame, 8000, now, now), Flow::Continue);
        }
        assert_eq!(e.metrics.audio_frames_dropped.get(), 200 - 48);
        for _ in 0..16 {
            let at = Instant::now();
            assert_eq!(
                e.control(MediaEvent::PlaybackDrained { at }),
                Flow::Continue
            );
        }
        assert_eq!(e.metrics.control_events_lost.get(), 0);
        let mut drained = 0;
        while let Ok(ev) = rx.try_recv() {
            drained += usize::from(matches!(ev, MediaEvent::PlaybackDrained { .. }));
        }
        assert_eq!(drained, 16);
    }

    /// Ten 20 ms frames at 16 kHz go up as two 80 ms chunks, in order, each
    /// stamped with its first frame's time; the last two wait.
    #[test]
    fn frames_go_up_in_chunks_of_80_ms() {
        let (mut e, mut rx) = emitter(64, CALLER_CHUNK);
        let t0 = Instant::now();
        for n in 0..10 {
            let at = t0 + FRAME * n as u32;
            assert_eq!(e.audio(&frame(n), 16_000, at, at), Flow::Continue);
        }
        for first in [0, 4] {
            let Ok(MediaEvent::Audio(c)) = rx.try_recv() else {
                panic!("chunk from frame {first}");
            };
            let want: Vec<i16> = (first..first + 4).flat_map(frame).collect();
            assert_eq!(
                (c.rate, c.pcm, c.at),
                (16_000, want, t0 + FRAME * first as u32)
            );
        }
        assert!(rx.try_recv().is_err(), "frames 8 and 9 are still gathered");
        assert_eq!(e.batch.deadline(), Some(t0 + FRAME * 8 + CALLER_CHUNK));
    }

    /// Once the session names its recogniser, chunks go straight to it and
    /// none comes up (the session is not woken for audio); what was gathered
    /// before goes up first. A speech end still comes after the audio before
    /// it is in the recogniser. `Listen(None)` drops audio.
    #[test]
    fn audio_goes_straight_to_the_recogniser_named() {
        use crate::application::ports::speech::{SttConfig, SttInput, SttSampleRate, SttSession};
        let (mut e, mut rx) = emitter(64, CALLER_CHUNK);
        let (session, mut stt) =
            SttSession::channel(SttConfig::new("en-US", SttSampleRate::Hz16000), 50);
        let t0 = Instant::now();
        let at = |n: usize| t0 + FRAME * n as u32;
        e.audio(&frame(0), 16_000, at(0), at(0));
        assert_eq!(e.listen(Some(session.audio())), Flow::Continue);
        assert!(matches!(rx.try_recv(), Ok(MediaEvent::Audio(c)) if c.pcm == frame(0)));
        for n in 1..7 {
            e.audio(&frame(n), 16_000, at(n), at(n));
        }
        let ended = e.event(|e| e.control(MediaEvent::SpeechEnded { at: at(6) }));
        assert_eq!(ended, Flow::Continue);
        assert!(matches!(rx.try_recv(), Ok(MediaEvent::SpeechEnded { .. })));
        assert!(rx.try_recv().is_err(), "no audio came up");
        let pushed: Vec<i16> = std::iter::from_fn(|| stt.input.try_recv().ok())
            .flat_map(|i| match i {
                SttInput::Audio(pcm) => pcm,
                SttInput::Finish => panic!("no finish was asked"),
            })
            .collect();
        assert_eq!(pushed, (1..7).flat_map(frame).collect::<Vec<_>>());
        assert_eq!(session.timing().samples, 6 * 320);

        e.listen(None);
        for n in 7..12 {
            e.audio(&frame(n), 16_000, at(n), at(n));
        }
        assert!(rx.try_recv().is_err() && stt.input.try_recv().is_err());
        assert_eq!(e.metrics.audio_frames_dropped.get(), 0);
    }

    /// An onset goes up the moment it is heard, right after the audio before
    /// it (never behind a chunk that is not full yet); so does a speech end,
    /// so the STT has all the utterance when the session finishes it.
    #[test]
    fn vad_events_go_at_once_after_the_audio_before_them() {
        let (mut e, mut rx) = emitter(64, CALLER_CHUNK);
        let t0 = Instant::now();
        e.audio(&frame(0), 16_000, t0, t0);
        let onset = e.event(|e| {
            e.control(MediaEvent::SpeechStarted {
                at: t0,
                echo: false,
            })
        });
        assert_eq!(onset, Flow::Continue);
        assert!(matches!(rx.try_recv(), Ok(MediaEvent::Audio(c)) if c.pcm == frame(0)));
        assert!(matches!(
            rx.try_recv(),
            Ok(MediaEvent::SpeechStarted { .. })
        ));
        // Nothing gathered: the event alone.
        e.event(|e| e.control(MediaEvent::SpeechPaused { at: t0 }));
        assert!(matches!(rx.try_recv(), Ok(MediaEvent::SpeechPaused { .. })));
        for n in 1..4 {
            e.audio(&frame(n), 16_000, t0, t0);
        }
        e.event(|e| e.control(MediaEvent::SpeechEnded { at: t0 }));
        assert!(matches!(rx.try_recv(), Ok(MediaEvent::Audio(c)) if c.pcm.len() == 3 * 320));
        assert!(matches!(rx.try_recv(), Ok(MediaEvent::SpeechEnded { .. })));
        assert!(rx.try_recv().is_err());
    }

    /// A caller who stops sending mid-chunk: the leg's timer hands up what
    /// was gathered once the chunk's time has passed, not before.
    #[test]
    fn a_chunk_goes_up_on_its_deadline_when_no_more_audio_comes() {
        let (mut e, mut rx) = emitter(64, CALLER_CHUNK);
        let t0 = Instant::now();
        e.audio(&frame(0), 16_000, t0, t0);
        e.audio(&frame(1), 16_000, t0 + FRAME, t0 + FRAME);
        let due = e.deadline().expect("a deadline while audio is gathered");
        assert_eq!(due, t0 + CALLER_CHUNK);
        assert_eq!(e.timeout(due - Duration::from_millis(1)), Flow::Continue);
        assert!(rx.try_recv().is_err(), "too early");
        assert_eq!(e.timeout(due), Flow::Continue);
        assert!(matches!(rx.try_recv(), Ok(MediaEvent::Audio(c)) if c.pcm.len() == 640));
        assert_eq!(e.deadline(), None);
    }

    /// Audio at another rate (the pipeline's rate never changes, but a chunk
    /// must hold one rate) first hands up what was gathered.
    #[test]
    fn a_rate_change_closes_the_chunk() {
        let (mut e, mut rx) = emitter(64, CALLER_CHUNK);
        let t0 = Instant::now();
        e.audio(&frame(0), 16_000, t0, t0);
        e.audio(&[1; 160], 8_000, t0, t0);
        assert!(
            matches!(rx.try_recv(), Ok(MediaEvent::Audio(c)) if c.rate == 16_000 && c.pcm.len() == 320)
        );
        assert_eq!(e.flush_audio(), Flow::Continue);
        assert!(
            matches!(rx.try_recv(), Ok(MediaEvent::Audio(c)) if c.rate == 8_000 && c.pcm.len() == 160)
        );
    }

    #[test]
    fn dropped_chunks_count_their_frames() {
        assert_eq!(frames_in(1280, 16_000), 4);
        assert_eq!(frames_in(330, 16_000), 2);
        assert_eq!(frames_in(0, 8_000), 0);
    }

    /// 80 ms chunks take a quarter of the slots 20 ms frames took: a
    /// session that stopped reading has at most the same audio queued.
    #[test]
    fn chunks_fill_the_channel_no_further_in_time_than_frames_did() {
        assert_eq!(audio_room(256, 1), 224);
        assert_eq!(audio_room(256, 4), 56);
        assert_eq!(audio_room(1, 4), 1);
        let (mut e, _rx) = emitter(256, CALLER_CHUNK);
        let now = Instant::now();
        for n in 0..400 {
            e.audio(&frame(n % 50), 16_000, now, now);
        }
        // 100 chunks made, 56 queued: 44 chunks of 4 frames dropped.
        assert_eq!(e.metrics.audio_frames_dropped.get(), 44 * 4);
    }

    #[test]
    fn a_small_channel_keeps_a_small_reserve() {
        assert_eq!(control_reserve(1), 0);
        assert_eq!(control_reserve(8), 2);
        assert_eq!(control_reserve(256), 32);
        assert_eq!(control_reserve(4096), 32);
    }
}
