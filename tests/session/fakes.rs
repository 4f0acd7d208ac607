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
use voice_gateway::adapter::store::MemoryCallStore;
use voice_gateway::application::ports::{
    calls::{CallSummary, ListFilter, Page},
    events::{CallEvent, EventPublisher, PublishError},
    media::{
        AgentAudio, AudioChunk, FlushReport, LegSender, MediaCommand, MediaEndpoint, MediaError,
        MediaEvent, MediaLeg, MediaRequest,
    },
    orchestrator::BoxFuture,
    store::{CallStore, StoreError},
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
    /// externalMedia answers without `UNICASTRTP_LOCAL_*`.
    pub(crate) hide_rtp_address: std::sync::atomic::AtomicBool,
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
        let hidden = self
            .hide_rtp_address
            .load(std::sync::atomic::Ordering::SeqCst);
        Box::pin(async move {
            r.map(|()| MediaChannel {
                channel,
                asterisk_rtp: (!hidden).then(|| "127.0.0.1:40010".parse().unwrap()),
                media_websocket: None,
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
    /// A `Latch` came (Asterisk reported no RTP address).
    pub(crate) latch: bool,
    pub(crate) played: Duration,
    /// Every sample queued for playing, and the rate of each `Play`.
    pub(crate) pcm: Vec<i16>,
    pub(crate) rates: Vec<u32>,
    pub(crate) flushes: Vec<FlushReport>,
    /// When each flush reached the leg.
    pub(crate) flushed_at: Vec<Instant>,
    /// Each time the queue ran dry before the end of the speech: how long
    /// the caller heard nothing until more audio came (or a flush cut it).
    pub(crate) gaps: Vec<Duration>,
    pub(crate) drained: usize,
    /// Most audio ever queued ahead of the clock.
    pub(crate) max_ahead: Duration,
    /// The generation and samples of every chunk played, in order.
    pub(crate) generations: Vec<(u64, usize)>,
    /// What each `Listen` said, in order: whether a recogniser was named.
    /// The test's caller audio still comes up as events, which the session
    /// hands on too.
    pub(crate) listens: Vec<bool>,
    /// The rate the last leg was opened to deliver caller audio at.
    pub(crate) stt_rate: Option<u32>,
}

/// A media endpoint whose leg plays agent audio in (virtual) real time and
/// whose caller audio the test injects.
pub(crate) struct FakeMedia {
    pub(crate) log: Arc<Mutex<MediaLog>>,
    /// The sender of the last opened leg's events: the test speaks through it.
    pub(crate) caller: Mutex<Option<mpsc::Sender<MediaEvent>>>,
    /// Capacity of a leg's audio channel, in chunks.
    pub(crate) audio_capacity: usize,
    /// Like the real leg's `play_lead`: audio is read only while less than
    /// this is queued ahead of the clock. `None` reads everything at once.
    pub(crate) lead: Option<Duration>,
    /// Plays the audio but never reports it played out (a lost report, a
    /// stuck leg).
    pub(crate) never_drains: bool,
}

impl Default for FakeMedia {
    fn default() -> Self {
        Self {
            log: Arc::default(),
            caller: Mutex::default(),
            audio_capacity: 64,
            lead: None,
            never_drains: false,
        }
    }
}

impl MediaEndpoint for FakeMedia {
    fn open(&self, request: MediaRequest) -> BoxFuture<'_, Result<MediaLeg, MediaError>> {
        let (ev_tx, ev_rx) = mpsc::channel(256);
        let (control, control_rx) = mpsc::channel(64);
        let (audio, audio_rx) = mpsc::channel(self.audio_capacity);
        {
            let mut log = self.log.lock().unwrap();
            log.opened += 1;
            log.stt_rate = Some(request.stt_rate);
        }
        *self.caller.lock().unwrap() = Some(ev_tx.clone());
        let player = Player {
            log: self.log.clone(),
            lead: self.lead,
            never_drains: self.never_drains,
            ..Player::default()
        };
        tokio::spawn(player.run(control_rx, audio_rx, ev_tx));
        Box::pin(async move {
            Ok(MediaLeg {
                local: "127.0.0.1:20000".parse().unwrap(),
                attach: AudioTransport::Rtp {
                    external_host: "127.0.0.1:20000".parse().unwrap(),
                },
                events: ev_rx,
                commands: LegSender { control, audio },
            })
        })
    }
}

/// Plays queued audio on the clock: `sent` grows with time since the talkspurt
/// began, up to what was queued.
#[derive(Default)]
struct Player {
    log: Arc<Mutex<MediaLog>>,
    lead: Option<Duration>,
    never_drains: bool,
    start: Option<Instant>,
    queued: Duration,
    drain_at: Option<Instant>,
    generation: u64,
    implied_flush: Option<(u64, FlushReport)>,
}

impl Player {
    async fn run(
        mut self,
        mut control: mpsc::Receiver<MediaCommand>,
        mut audio: mpsc::Receiver<AgentAudio>,
        events: mpsc::Sender<MediaEvent>,
    ) {
        loop {
            // With a lead, audio is read only while less is queued ahead.
            let end = self.start.map(|s| s + self.queued);
            let room_at = self
                .lead
                .zip(end)
                .map(|(lead, end)| end - lead.min(end - self.start.unwrap()))
                .filter(|&t| t > Instant::now());
            tokio::select! {
                biased;
                c = control.recv() => match c {
                    None | Some(MediaCommand::Close) => break,
                    Some(MediaCommand::SetPeer(p)) => self.log.lock().unwrap().peer = Some(p),
                    Some(MediaCommand::Latch) => self.log.lock().unwrap().latch = true,
                    // The fake telephony answers as UnicastRTP does.
                    Some(MediaCommand::Connect(_)) => {}
                    // These sessions barge in with `cancel` (see the harness).
                    Some(MediaCommand::PausePlayout | MediaCommand::ResumePlayout) => {}
                    // No outbound call is screened here.
                    Some(MediaCommand::WatchTones(_)) => {}
                    Some(MediaCommand::Listen(stt)) => self.log.lock().unwrap().listens.push(stt.is_some()),
                    Some(MediaCommand::Flush { generation, reply }) => {
                        let report = match self.implied_flush.take() {
                            Some((g, report)) if g == generation => report,
                            _ => {
                                self.generation = self.generation.max(generation);
                                self.flush()
                            }
                        };
                        let _ = reply.send(report);
                    }
                },
                a = audio.recv(), if room_at.is_none() => match a {
                    None => break,
                    Some(a) => self.audio(a),
                },
                () = async { sleep_until(room_at.unwrap()).await }, if room_at.is_some() => {}
                () = async { sleep_until(self.drain_at.unwrap()).await }, if self.drain_at.is_some() => {
                    self.drain_at = None;
                    self.start = None;
                    self.queued = Duration::ZERO;
                    if self.never_drains {
                        continue;
                    }
                    self.log.lock().unwrap().drained += 1;
                    let _ = events.send(MediaEvent::PlaybackDrained { at: Instant::now().into_std() }).await;
                }
            }
        }
        self.log.lock().unwrap().closed += 1;
    }

    fn audio(&mut self, a: AgentAudio) {
        if a.generation < self.generation {
            return;
        }
        if a.generation > self.generation {
            self.generation = a.generation;
            let report = self.flush();
            self.implied_flush = Some((a.generation, report));
        }
        match a.chunk {
            AudioChunk::Pcm { pcm, rate } => {
                let d = Duration::from_secs_f64(pcm.len() as f64 / f64::from(rate));
                let now = Instant::now();
                // A queue that ran dry restarts the talkspurt now.
                if self.start.is_none_or(|s| s + self.queued < now) {
                    if let Some(s) = self.start
                        && self.drain_at.is_none()
                    {
                        let gap = now - (s + self.queued);
                        self.log.lock().unwrap().gaps.push(gap);
                    }
                    self.start = Some(now);
                    self.queued = Duration::ZERO;
                }
                self.queued += d;
                let ahead = self.start.unwrap() + self.queued - now;
                let mut l = self.log.lock().unwrap();
                l.played += d;
                l.pcm.extend_from_slice(&pcm);
                l.rates.push(rate);
                l.max_ahead = l.max_ahead.max(ahead);
                l.generations.push((a.generation, pcm.len()));
                drop(l);
                if self.drain_at.is_some() {
                    self.drain_at = Some(self.start.unwrap() + self.queued);
                }
            }
            AudioChunk::EndOfSpeech => {
                self.drain_at = Some(
                    self.start
                        .map_or(Instant::now(), |s| s + self.queued)
                        .max(Instant::now()),
                );
            }
        }
    }

    fn flush(&mut self) -> FlushReport {
        let now = Instant::now();
        // Cut while starved: the silence before the cut is a gap too.
        if let Some(s) = self.start
            && self.drain_at.is_none()
            && s + self.queued < now
        {
            let gap = now - (s + self.queued);
            self.log.lock().unwrap().gaps.push(gap);
        }
        let sent = self
            .start
            .map_or(Duration::ZERO, |s| (now - s).min(self.queued));
        let report = FlushReport {
            dropped: self.queued - sent,
            sent,
            last_packet_at: self.start.map(|_| now.into_std()),
        };
        let mut log = self.log.lock().unwrap();
        log.flushes.push(report);
        log.flushed_at.push(now);
        drop(log);
        self.start = None;
        self.queued = Duration::ZERO;
        self.drain_at = None;
        report
    }
}

/// Keeps published events in memory, each once its write took the delay
/// (zero by default; a congested broker otherwise).
#[derive(Default)]
pub(crate) struct MemoryEvents(pub(crate) Mutex<Vec<CallEvent>>, pub(crate) Duration);

impl EventPublisher for MemoryEvents {
    fn publish(&self, event: CallEvent) -> BoxFuture<'_, Result<(), PublishError>> {
        let delay = self.1;
        Box::pin(async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            self.0.lock().unwrap().push(event);
            Ok(())
        })
    }
}

/// The in-memory store behind a write delay (a slow Redis round trip).
#[derive(Default)]
pub(crate) struct SlowStore {
    pub(crate) inner: MemoryCallStore,
    pub(crate) delay: Duration,
}

impl CallStore for SlowStore {
    fn put(&self, record: CallSummary) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            if !self.delay.is_zero() {
                tokio::time::sleep(self.delay).await;
            }
            self.inner.put(record).await
        })
    }
    fn get<'a>(
        &'a self,
        tenant: &'a voice_gateway::domain::TenantId,
        call: &'a voice_gateway::domain::CallId,
    ) -> BoxFuture<'a, Result<Option<CallSummary>, StoreError>> {
        self.inner.get(tenant, call)
    }
    fn list<'a>(
        &'a self,
        tenant: &'a voice_gateway::domain::TenantId,
        filter: &'a ListFilter,
    ) -> BoxFuture<'a, Result<Page, StoreError>> {
        self.inner.list(tenant, filter)
    }
    fn owned_live(&self, max: usize) -> BoxFuture<'_, Result<Vec<CallSummary>, StoreError>> {
        self.inner.owned_live(max)
    }
}
