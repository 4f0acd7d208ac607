//! Fakes for the ports that talk to Asterisk and the media socket.

use ari::{BridgeId, ChannelId};
use std::{
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio::{
    sync::mpsc,
    time::{Instant, sleep_until},
};
use voice_gateway::application::ports::{
    events::{CallEvent, EventPublisher, PublishError},
    media::{
        FlushReport, MediaCommand, MediaEndpoint, MediaError, MediaEvent, MediaLeg, MediaRequest,
    },
    orchestrator::BoxFuture,
    telephony::{
        AudioTransport, HangupCause, MediaChannel, OriginateRequest, Telephony, TelephonyError,
        WireFormat,
    },
};

/// Records every call-control request; can be told to fail one operation.
#[derive(Default)]
pub(crate) struct FakeTelephony {
    pub(crate) ops: Mutex<Vec<String>>,
    pub(crate) fail: Mutex<Option<(String, TelephonyError)>>,
}

impl FakeTelephony {
    fn op(&self, name: &str, detail: String) -> Result<(), TelephonyError> {
        self.ops.lock().unwrap().push(format!("{name} {detail}"));
        match &*self.fail.lock().unwrap() {
            Some((op, e)) if op == name => Err(e.clone()),
            _ => Ok(()),
        }
    }

    pub(crate) fn ops(&self) -> Vec<String> {
        self.ops.lock().unwrap().clone()
    }

    pub(crate) fn count(&self, prefix: &str) -> usize {
        self.ops().iter().filter(|o| o.starts_with(prefix)).count()
    }
}

macro_rules! op {
    ($self:ident, $name:literal, $($arg:expr),*) => {{
        let r = $self.op($name, vec![$($arg.to_string()),*].join(" "));
        Box::pin(async move { r })
    }};
}

impl Telephony for FakeTelephony {
    fn answer<'a>(&'a self, c: &'a ChannelId) -> BoxFuture<'a, Result<(), TelephonyError>> {
        op!(self, "answer", c)
    }
    fn hangup<'a>(
        &'a self,
        c: &'a ChannelId,
        _: HangupCause,
    ) -> BoxFuture<'a, Result<(), TelephonyError>> {
        op!(self, "hangup", c)
    }
    fn create_bridge<'a>(&'a self, b: &'a BridgeId) -> BoxFuture<'a, Result<(), TelephonyError>> {
        op!(self, "create_bridge", b)
    }
    fn destroy_bridge<'a>(&'a self, b: &'a BridgeId) -> BoxFuture<'a, Result<(), TelephonyError>> {
        op!(self, "destroy_bridge", b)
    }
    fn add_to_bridge<'a>(
        &'a self,
        b: &'a BridgeId,
        c: &'a ChannelId,
    ) -> BoxFuture<'a, Result<(), TelephonyError>> {
        op!(self, "add_to_bridge", b, c)
    }
    fn external_media<'a>(
        &'a self,
        c: &'a ChannelId,
        t: &'a AudioTransport,
        _: WireFormat,
    ) -> BoxFuture<'a, Result<MediaChannel, TelephonyError>> {
        let r = self.op("external_media", format!("{c} {t:?}"));
        let channel = c.clone();
        Box::pin(async move {
            r.map(|()| MediaChannel {
                channel,
                asterisk_rtp: Some("127.0.0.1:40010".parse().unwrap()),
            })
        })
    }
    fn play<'a>(
        &'a self,
        c: &'a ChannelId,
        m: &'a str,
    ) -> BoxFuture<'a, Result<(), TelephonyError>> {
        op!(self, "play", c, m)
    }
    fn redirect<'a>(
        &'a self,
        c: &'a ChannelId,
        e: &'a str,
    ) -> BoxFuture<'a, Result<(), TelephonyError>> {
        op!(self, "redirect", c, e)
    }
    fn continue_in_dialplan<'a>(
        &'a self,
        c: &'a ChannelId,
        ctx: &'a str,
        ext: &'a str,
    ) -> BoxFuture<'a, Result<(), TelephonyError>> {
        op!(self, "continue", c, ctx, ext)
    }
    fn originate<'a>(
        &'a self,
        r: &'a OriginateRequest,
    ) -> BoxFuture<'a, Result<(), TelephonyError>> {
        op!(self, "originate", r.endpoint)
    }
    fn send_dtmf<'a>(
        &'a self,
        c: &'a ChannelId,
        d: &'a str,
    ) -> BoxFuture<'a, Result<(), TelephonyError>> {
        op!(self, "send_dtmf", c, d)
    }
}

/// What the fake media leg saw.
#[derive(Debug, Default, Clone)]
pub(crate) struct MediaLog {
    pub(crate) opened: usize,
    pub(crate) closed: usize,
    pub(crate) peer: Option<std::net::SocketAddr>,
    pub(crate) played: Duration,
    /// Every sample queued for playing, and the rate of each `Play`.
    pub(crate) pcm: Vec<i16>,
    pub(crate) rates: Vec<u32>,
    pub(crate) flushes: Vec<FlushReport>,
    pub(crate) drained: usize,
}

/// A media endpoint whose leg plays agent audio in (virtual) real time and
/// whose caller audio the test injects.
#[derive(Default)]
pub(crate) struct FakeMedia {
    pub(crate) log: Arc<Mutex<MediaLog>>,
    /// The sender of the last opened leg's events: the test speaks through it.
    pub(crate) caller: Mutex<Option<mpsc::Sender<MediaEvent>>>,
}

impl MediaEndpoint for FakeMedia {
    fn open(&self, _: MediaRequest) -> BoxFuture<'_, Result<MediaLeg, MediaError>> {
        let (ev_tx, ev_rx) = mpsc::channel(256);
        let (cmd_tx, cmd_rx) = mpsc::channel(64);
        self.log.lock().unwrap().opened += 1;
        *self.caller.lock().unwrap() = Some(ev_tx.clone());
        tokio::spawn(play_loop(cmd_rx, ev_tx, self.log.clone()));
        Box::pin(async move {
            Ok(MediaLeg {
                local: "127.0.0.1:20000".parse().unwrap(),
                events: ev_rx,
                commands: cmd_tx,
            })
        })
    }
}

/// Plays queued audio on the clock: `sent` grows with time since the talkspurt
/// began, up to what was queued.
async fn play_loop(
    mut rx: mpsc::Receiver<MediaCommand>,
    events: mpsc::Sender<MediaEvent>,
    log: Arc<Mutex<MediaLog>>,
) {
    let mut start: Option<Instant> = None;
    let mut queued = Duration::ZERO;
    let mut drain_at: Option<Instant> = None;
    loop {
        let cmd = tokio::select! {
            c = rx.recv() => c,
            () = async { sleep_until(drain_at.unwrap()).await }, if drain_at.is_some() => {
                drain_at = None;
                start = None;
                queued = Duration::ZERO;
                log.lock().unwrap().drained += 1;
                let _ = events.send(MediaEvent::PlaybackDrained { at: Instant::now().into_std() }).await;
                continue;
            }
        };
        match cmd {
            None | Some(MediaCommand::Close) => break,
            Some(MediaCommand::SetPeer(p)) => log.lock().unwrap().peer = Some(p),
            Some(MediaCommand::Play { pcm, rate }) => {
                let d = Duration::from_secs_f64(pcm.len() as f64 / f64::from(rate));
                let now = Instant::now();
                // A queue that ran dry restarts the talkspurt now.
                if start.is_none_or(|s| s + queued < now) {
                    start = Some(now);
                    queued = Duration::ZERO;
                }
                queued += d;
                let mut l = log.lock().unwrap();
                l.played += d;
                l.pcm.extend_from_slice(&pcm);
                l.rates.push(rate);
                drop(l);
                if drain_at.is_some() {
                    drain_at = Some(start.unwrap() + queued);
                }
            }
            Some(MediaCommand::EndOfSpeech) => {
                drain_at = Some(
                    start
                        .map_or(Instant::now(), |s| s + queued)
                        .max(Instant::now()),
                );
            }
            Some(MediaCommand::Flush(reply)) => {
                let now = Instant::now();
                let sent = start.map_or(Duration::ZERO, |s| (now - s).min(queued));
                let report = FlushReport {
                    dropped: queued - sent,
                    sent,
                    last_packet_at: start.map(|_| now.into_std()),
                };
                log.lock().unwrap().flushes.push(report);
                start = None;
                queued = Duration::ZERO;
                drain_at = None;
                let _ = reply.send(report);
            }
        }
    }
    log.lock().unwrap().closed += 1;
}

/// Keeps published events in memory.
#[derive(Default)]
pub(crate) struct MemoryEvents(pub(crate) Mutex<Vec<CallEvent>>);

impl EventPublisher for MemoryEvents {
    fn publish(&self, event: CallEvent) -> BoxFuture<'_, Result<(), PublishError>> {
        self.0.lock().unwrap().push(event);
        Box::pin(async { Ok(()) })
    }
}
