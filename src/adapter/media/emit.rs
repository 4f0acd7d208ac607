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

use super::metrics::MediaMetrics;
use crate::application::ports::media::{AudioFrame, MAX_FRAME_SAMPLES, MediaEvent};
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
}

impl Emitter {
    /// Resolves once the session dropped its receiver.
    pub(crate) async fn closed(&self) {
        self.events.closed().await;
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

    /// When a tone in progress ends if no more audio comes.
    pub(crate) fn tone_deadline(&self) -> Option<Instant> {
        self.tones.as_ref().and_then(ToneDetector::poll_timeout)
    }

    /// Reports a tone whose audio stopped by `now`.
    pub(crate) fn tone_timeout(&mut self, now: Instant) -> Flow {
        match self.tones.as_mut().and_then(|d| d.handle_timeout(now)) {
            Some(t) => self.tone(t),
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

    /// Delivers everything the inbound pipeline has due.
    /// Heard levels go into the echo reference, which judges each onset.
    pub(crate) fn inbound<V: VoiceActivityDetector>(&mut self, p: &mut InboundPipeline<V>) -> Flow {
        let rate = p.config().output_rate;
        while let Some(out) = p.poll_output() {
            let flow = match out {
                InboundOutput::Audio { pcm, at } => {
                    self.echo.record_heard(at, frame_level(pcm));
                    let tone = self.tones.as_mut().and_then(|d| d.push(at, pcm));
                    match tone.map(|t| self.tone(t)) {
                        Some(Flow::Stop) => Flow::Stop,
                        _ => self.audio(pcm, rate, at),
                    }
                }
                InboundOutput::Vad(VadEvent::SpeechStart { at }) => {
                    let echo = self.echo.is_echo();
                    self.control(MediaEvent::SpeechStarted { at, echo })
                }
                InboundOutput::Vad(VadEvent::SpeechPause { at }) => {
                    self.control(MediaEvent::SpeechPaused { at })
                }
                InboundOutput::Vad(VadEvent::SpeechEnd { at }) => {
                    self.control(MediaEvent::SpeechEnded { at })
                }
                InboundOutput::Dtmf(d) => self.control(MediaEvent::Dtmf { digit: d.digit }),
            };
            if flow == Flow::Stop {
                return Flow::Stop;
            }
        }
        Flow::Continue
    }

    /// One 20 ms frame, as one [`AudioFrame`] up to 16 kHz; above that (the
    /// port's frame holds 320 samples) as a few equal chunks, each stamped
    /// with the time of its first sample.
    fn audio(&self, pcm: &[i16], rate: u32, at: Instant) -> Flow {
        let chunks = pcm.len().div_ceil(MAX_FRAME_SAMPLES).max(1);
        let mut start = 0;
        for i in 0..chunks {
            let end = pcm.len() * (i + 1) / chunks;
            let offset = Duration::from_nanos(start as u64 * 1_000_000_000 / u64::from(rate));
            let mut frame = AudioFrame {
                pcm: [0; MAX_FRAME_SAMPLES],
                // At most MAX_FRAME_SAMPLES by construction of `chunks`.
                len: u16::try_from(end - start).unwrap_or(0),
                rate,
                at: at + offset,
            };
            frame.pcm[..end - start].copy_from_slice(&pcm[start..end]);
            if self.events.capacity() <= control_reserve(self.events.max_capacity()) {
                self.metrics.audio_frames_dropped.inc();
                start = end;
                continue;
            }
            match self.events.try_send(MediaEvent::Audio(frame)) {
                Ok(()) => {
                    if self.wideband {
                        self.metrics.wideband_frames_in.inc();
                    }
                }
                Err(TrySendError::Full(_)) => {
                    self.metrics.audio_frames_dropped.inc();
                }
                Err(TrySendError::Closed(_)) => return Flow::Stop,
            }
            start = end;
        }
        Flow::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emitter(capacity: usize) -> (Emitter, mpsc::Receiver<MediaEvent>) {
        let (events, rx) = mpsc::channel(capacity);
        let e = Emitter {
            events,
            metrics: MediaMetrics::default(),
            call: CallId::parse("c-1").unwrap(),
            wideband: false,
            echo: EchoReference::new(::media::echo::EchoConfig::default()),
            tones: None,
        };
        (e, rx)
    }

    /// A session that stopped reading for a while (its loop behind under
    /// load) gets caller audio dropped, but still every control event.
    #[test]
    fn audio_never_takes_the_room_of_control_events() {
        let (e, mut rx) = emitter(64);
        let frame = [0i16; 160];
        for _ in 0..200 {
            assert_eq!(e.audio(&frame, 8000, Instant::now()), Flow::Continue);
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

    #[test]
    fn a_small_channel_keeps_a_small_reserve() {
        assert_eq!(control_reserve(1), 0);
        assert_eq!(control_reserve(8), 2);
        assert_eq!(control_reserve(256), 32);
        assert_eq!(control_reserve(4096), 32);
    }
}
