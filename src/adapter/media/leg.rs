//! The task of one media leg: owns the socket and both pipelines, and
//! `select!`s over commands, agent audio, datagrams and the pipelines' next
//! deadline (the run loop of `vg_media::pipeline`, after quinn's
//! `ConnectionDriver`).
//!
//! Agent audio is read only while the pacer holds less than `play_lead`, and
//! a chunk goes into the pacer in slices of its room
//! ([`OutboundPipeline::pcm_room`]): the rest waits in [`Pending`] and goes in
//! as packets go out. A fast producer thus waits on the audio channel instead
//! of overflowing the pacer. Control commands are read first, whatever the
//! pacer holds.
//!
//! The outbound pipeline is shared with the pacing thread ([`super::pace`]):
//! over UnicastRTP the thread sends the packets at their slots and wakes
//! the leg when it has news (a reply's first packet out, drained, room for
//! more audio); over TCP wires the leg sends them itself, on its timer.

use super::emit::{Emitter, Flow};
use super::gate::Gates;
use super::metrics::{MediaMetrics, Synced};
use super::pace::{OutState, Outbound, Pacing};
use super::wire::Wire;
use crate::application::ports::media::{
    AgentAudio, AudioChunk, FlushReport, MediaCommand, MediaEvent,
};
use crate::domain::CallId;
use ::media::pipeline::{InboundPipeline, OutboundPipeline};
use ::media::vad::VoiceActivityDetector;
use std::{future::poll_fn, net::SocketAddr, sync::Arc, time::Duration, time::Instant};
use tokio::sync::mpsc;

/// Room for one serialized outbound packet: RTP header plus 20 ms of slin16.
const TX_BUFFER: usize = 2048;
/// How often pipeline figures are copied into the shared counters.
const SYNC_EVERY: Duration = Duration::from_secs(1);
/// How far below `play_lead` the queue falls before the pacing thread wakes
/// the leg to top it up (at most half the lead).
const REFILL_STEP: Duration = Duration::from_millis(200);

/// One leg's state; [`run`](Self::run) consumes it.
pub(crate) struct Leg<V, W> {
    /// The transport: its socket (and port lease) close when the leg ends.
    pub(crate) wire: W,
    pub(crate) call: CallId,
    pub(crate) inbound: InboundPipeline<V>,
    /// The outbound pipeline, shared with the pacing thread.
    pub(crate) out: Arc<Outbound>,
    /// The thread that sends for this leg; `None`: the leg sends itself.
    pub(crate) pacing: Option<Pacing>,
    pub(crate) emit: Emitter,
    pub(crate) commands: mpsc::Receiver<MediaCommand>,
    /// Agent audio, read only while the pacer is below `play_lead`.
    pub(crate) audio: mpsc::Receiver<AgentAudio>,
    /// Agent audio kept queued in the pacer ahead of the wire.
    pub(crate) play_lead: Duration,
    pub(crate) metrics: MediaMetrics,
}

enum Wake<I> {
    Command(Option<MediaCommand>),
    Audio(Option<AgentAudio>),
    Wire(I),
    Timer,
    Paced,
    EventsGone,
}

/// What the loop carries besides the pipelines.
struct State {
    tx: Box<[u8]>,
    /// `EndOfSpeech` seen and `PlaybackDrained` not yet sent.
    awaiting_drain: bool,
    /// The next packet sent is the first since the leg opened, drained or
    /// flushed: `FirstPacketSent` goes with it.
    announce_first: bool,
    synced: Synced,
    next_sync: Instant,
    /// The rest of a chunk the pacer had no room for yet.
    pending: Option<Pending>,
    /// The flush generation audio must carry to be played.
    generation: u64,
    /// A flush done because audio of a newer generation came before its
    /// `Flush`: that `Flush` is answered with this report, and flushes nothing.
    implied_flush: Option<(u64, FlushReport)>,
    /// A flush happened: the wire flushes the far end's queue too.
    wire_flush: bool,
    /// Agent audio was seen queued with no send scheduled (logged once).
    unscheduled_seen: bool,
    /// The outbound side as last seen under its lock.
    view: View,
    /// The peer last given to the pacing thread.
    peer: Option<SocketAddr>,
}

/// What the loop needs of the outbound side between two looks under its
/// lock. Over UnicastRTP the pacing thread only sends meanwhile, so the
/// queue is at most what `queued` says.
#[derive(Debug, Clone, Copy, Default)]
struct View {
    queued: Duration,
    paused: bool,
    /// Packets are on their way (see [`OutState::sending`]).
    sending: bool,
    /// When the leg's own timer sends next (TCP wires only).
    next_send: Option<Instant>,
}

impl View {
    fn of(out: &OutState) -> Self {
        Self {
            queued: out.pipeline.queued(),
            paused: out.pipeline.is_paused(),
            sending: out.sending(),
            next_send: if out.direct.is_some() {
                None
            } else {
                out.pipeline.poll_timeout()
            },
        }
    }
}

impl State {
    fn new(now: Instant) -> Self {
        Self {
            tx: vec![0; TX_BUFFER].into_boxed_slice(),
            awaiting_drain: false,
            announce_first: true,
            synced: Synced::default(),
            next_sync: now + SYNC_EVERY,
            pending: None,
            generation: 0,
            implied_flush: None,
            wire_flush: false,
            unscheduled_seen: false,
            view: View::default(),
            peer: None,
        }
    }
}

/// A chunk of agent audio partly queued.
struct Pending {
    pcm: Vec<i16>,
    rate: u32,
    /// Samples queued so far.
    done: usize,
}

impl Pending {
    fn rest(&self) -> &[i16] {
        &self.pcm[self.done..]
    }

    fn rest_duration(&self) -> Duration {
        let n = self.pcm.len() - self.done;
        Duration::from_nanos(n as u64 * 1_000_000_000 / u64::from(self.rate.max(1)))
    }
}

impl<V: VoiceActivityDetector, W: Wire> Leg<V, W> {
    /// Runs until `Close`, the command sender is dropped, or the events
    /// receiver is dropped; then the socket closes and the port is released.
    pub(crate) async fn run(mut self) {
        self.metrics.legs_open.inc();
        let mut st = State::new(Instant::now());
        {
            let mut out = self.out.lock();
            // The leg's first packet is announced.
            out.sent.want_first = true;
            st.view = View::of(&out);
        }
        let timer = tokio::time::sleep(Duration::ZERO);
        let events_gone = self.emit.closed();
        tokio::pin!(timer, events_gone);
        // Polled only once they woke the leg (see `gate`); commands lead.
        let gates = Gates::<4>::new();
        let (commands, gone, audio, paced) = (0, 1, 2, 3);
        let out = Arc::clone(&self.out);
        loop {
            let deadline = [
                self.inbound.poll_timeout(),
                st.view.next_send,
                self.emit.deadline(),
            ]
            .into_iter()
            .flatten()
            .min();
            if let Some(d) = deadline.map(tokio::time::Instant::from_std)
                && timer.deadline() != d
            {
                timer.as_mut().reset(d);
            }
            self.check_scheduled(&mut st);
            // More audio only once the last chunk is all in and the pacer is
            // below the lead: the producer waits upstream until then.
            let wants_audio =
                st.pending.is_none() && st.view.queued < self.play_lead && self.wire.ready();
            let wake = tokio::select! {
                // Commands first: a flush must not wait behind a flood of
                // packets or of audio.
                biased;
                c = poll_fn(|cx| gates.poll(commands, cx, |cx| self.commands.poll_recv(cx))) => {
                    Wake::Command(c)
                }
                () = poll_fn(|cx| gates.poll(gone, cx, |cx| events_gone.as_mut().poll(cx))) => {
                    Wake::EventsGone
                }
                a = poll_fn(|cx| gates.poll(audio, cx, |cx| self.audio.poll_recv(cx))), if wants_audio => {
                    Wake::Audio(a)
                }
                () = poll_fn(|cx| gates.poll(paced, cx, |cx| out.poll_signal(cx))) => Wake::Paced,
                i = self.wire.recv() => Wake::Wire(i),
                () = &mut timer, if deadline.is_some() => Wake::Timer,
            };
            let now = Instant::now();
            let flow = match wake {
                Wake::Command(None | Some(MediaCommand::Close))
                | Wake::Audio(None)
                | Wake::EventsGone => break,
                Wake::Command(Some(c)) => self.command(&mut st, now, c),
                Wake::Audio(Some(a)) => self.agent_audio(&mut st, now, a),
                Wake::Wire(i) => {
                    self.wire
                        .handle(i, now, &mut self.inbound, &mut self.emit, &self.metrics)
                }
                Wake::Timer => self.emit.timeout(now),
                Wake::Paced => Flow::Continue,
            };
            if flow == Flow::Stop || self.drive(&mut st, now).await == Flow::Stop {
                break;
            }
        }
        // Nothing more goes out, and the thread's descriptor of the socket
        // is closed before the wire's own.
        self.out.close();
        // Caller audio gathered goes up with the leg's end (the session may
        // still be listening after a `Close`).
        let _ = self.emit.flush_audio();
        self.sync(&mut st);
        self.metrics.legs_open.dec();
        tracing::debug!(call = %self.call, wire = ?self.wire, "media leg closed");
    }

    /// Agent audio in the pacer or waiting to go in always has a packet
    /// due; if not, it would sit there (the caller hearing nothing, the
    /// session's synthesis backpressured behind it) until something else
    /// wakes the leg. Never expected: said once per leg, loudly.
    fn check_scheduled(&self, st: &mut State) {
        let v = st.view;
        if v.sending || st.unscheduled_seen || v.paused {
            return;
        }
        let waiting = st
            .pending
            .as_ref()
            .map_or(Duration::ZERO, Pending::rest_duration);
        if !v.queued.is_zero() || !waiting.is_zero() {
            st.unscheduled_seen = true;
            tracing::error!(call = %self.call, queued_ms = v.queued.as_millis() as u64, waiting_ms = waiting.as_millis() as u64, "media leg: agent audio queued with no packet scheduled");
        }
    }

    fn command(&mut self, st: &mut State, now: Instant, command: MediaCommand) -> Flow {
        match command {
            MediaCommand::SetPeer(addr) => self.wire.set_peer(addr),
            MediaCommand::Connect(url) => self.wire.connect(url),
            MediaCommand::Latch => self.wire.latch(now),
            MediaCommand::Flush { generation, reply } => {
                let report = match st.implied_flush.take() {
                    // Audio of this generation came first and flushed already;
                    // what is queued since then is the new reply's.
                    Some((g, report)) if g == generation => report,
                    _ if generation >= st.generation => {
                        st.generation = generation;
                        self.flush(st)
                    }
                    // Older than a flush already done: nothing of it is left.
                    _ => FlushReport {
                        dropped: Duration::ZERO,
                        sent: Duration::ZERO,
                        last_packet_at: self.out.lock().sent.last,
                    },
                };
                // The session may have stopped waiting; nothing to undo then.
                let _ = reply.send(report);
            }
            MediaCommand::PausePlayout => {
                let mut out = self.out.lock();
                out.pipeline.pause();
                st.view = View::of(&out);
            }
            MediaCommand::ResumePlayout => {
                let mut out = self.out.lock();
                out.pipeline.resume(now);
                st.view = View::of(&out);
            }
            MediaCommand::WatchTones(on) => {
                let rate = self.inbound.config().output_rate;
                self.emit.watch_tones(on, rate);
            }
            MediaCommand::Listen(stt) => return self.emit.listen(stt),
            MediaCommand::Close => return Flow::Stop,
        }
        Flow::Continue
    }

    fn agent_audio(&mut self, st: &mut State, now: Instant, audio: AgentAudio) -> Flow {
        if audio.generation < st.generation {
            // Sent before a flush: barge-in cut it.
            return Flow::Continue;
        }
        if audio.generation > st.generation {
            // Its `Flush` is on the control channel still: flush now, and
            // answer that `Flush` with this report when it is read.
            st.generation = audio.generation;
            let report = self.flush(st);
            st.implied_flush = Some((audio.generation, report));
        }
        match audio.chunk {
            AudioChunk::Pcm { pcm, rate } => {
                // A new reply: drained is reported after its own EndOfSpeech.
                st.awaiting_drain = false;
                st.pending = Some(Pending { pcm, rate, done: 0 });
                let mut out = self.out.lock();
                feed(&mut out.pipeline, st, self.play_lead, &self.call, now);
                st.view = View::of(&out);
            }
            AudioChunk::EndOfSpeech => {
                // Read only once every chunk before it is in the pacer.
                st.awaiting_drain = true;
                let mut out = self.out.lock();
                tracing::debug!(call = %self.call, queued_ms = out.pipeline.queued().as_millis() as u64, "end of agent audio");
                if let Err(e) = out.pipeline.end_of_speech(now) {
                    tracing::warn!(call = %self.call, error = %e, "end of agent audio not queued");
                }
                st.view = View::of(&out);
            }
        }
        Flow::Continue
    }

    /// Barge-in: drops the pacer's queue, the resampler's partial frame and
    /// the chunk waiting to go in. Over UnicastRTP nothing is in flight
    /// beyond the queue: the thread sends only under the same lock.
    fn flush(&mut self, st: &mut State) -> FlushReport {
        st.awaiting_drain = false;
        st.announce_first = true;
        st.wire_flush = true;
        let waiting = st
            .pending
            .take()
            .map_or(Duration::ZERO, |p| p.rest_duration());
        let mut out = self.out.lock();
        let sent = out.pipeline.stats().utterance_sent;
        let dropped = out.pipeline.flush() + waiting;
        // The next reply's first packet is announced afresh.
        out.sent.first = None;
        out.sent.want_first = true;
        st.view = View::of(&out);
        FlushReport {
            dropped,
            sent,
            last_packet_at: out.sent.last,
        }
    }

    /// Lets both pipelines catch up with `now` and delivers what they yield.
    async fn drive(&mut self, st: &mut State, now: Instant) -> Flow {
        // Over UnicastRTP: what the pacing thread sent first (the echo
        // reference wants it before the caller's audio is judged).
        let paced_drained = if self.pacing.is_some() {
            match self.paced(st, now) {
                Some(drained) => Some(drained),
                None => return Flow::Stop,
            }
        } else {
            None
        };
        self.inbound.handle_timeout(now);
        if self.emit.inbound(&mut self.inbound, now) == Flow::Stop {
            return Flow::Stop;
        }
        if std::mem::take(&mut st.wire_flush)
            && let Err(e) = self.wire.flushed().await
        {
            tracing::debug!(call = %self.call, error = %e, "far-end flush failed");
        }
        let drained = match paced_drained {
            Some(drained) => drained,
            None => {
                if self.send_due(st, now).await == Flow::Stop {
                    return Flow::Stop;
                }
                // A paused pacer holds its audio: it has not drained.
                let out = self.out.lock();
                out.pipeline.poll_timeout().is_none() && !out.pipeline.is_paused()
            }
        };
        if st.awaiting_drain && drained {
            st.awaiting_drain = false;
            st.announce_first = true;
            let at = self.out.lock().sent.last.unwrap_or(now);
            tracing::debug!(call = %self.call, "agent audio drained");
            if self.emit.control(MediaEvent::PlaybackDrained { at }) == Flow::Stop {
                return Flow::Stop;
            }
            if self.pacing.is_some() {
                self.out.lock().sent.want_first = true;
            }
        }
        if now >= st.next_sync {
            st.next_sync = now + SYNC_EVERY;
            self.sync(st);
        }
        Flow::Continue
    }

    /// The leg's round with the pacing thread, under one lock: takes what
    /// the thread sent (levels for the echo reference, a first packet to
    /// announce), tops the pacer up from the pending chunk, says what the
    /// leg waits for, and schedules the leg if it has a packet due and no
    /// entry. Whether the queue has drained; `None` if the session is gone.
    fn paced(&mut self, st: &mut State, now: Instant) -> Option<bool> {
        let mut out = self.out.lock();
        let OutState {
            pipeline,
            direct,
            sent,
            ..
        } = &mut *out;
        let peer = self.wire.destination();
        if peer != st.peer
            && let Some(d) = direct.as_mut()
        {
            d.peer = peer;
            st.peer = peer;
        }
        for (at, level) in sent.take_levels() {
            self.emit.echo.record_sent(at, level);
        }
        let first = sent.first.take();
        feed(pipeline, st, self.play_lead, &self.call, now);
        // Woken when the queue is low again, if there is more to give (a
        // chunk waits) or the producer is held back (the lead is full).
        let more = st.pending.is_some() || pipeline.queued() >= self.play_lead;
        let step = REFILL_STEP.min(self.play_lead / 2);
        sent.refill_below = more.then(|| self.play_lead.saturating_sub(step));
        sent.want_drained = st.awaiting_drain;
        let drained = pipeline.poll_timeout().is_none() && !pipeline.is_paused();
        let due = out.take_schedule();
        st.view = View::of(&out);
        let announce = st.announce_first && first.is_some();
        drop(out);
        if let (Some(due), Some(pacing)) = (due, &self.pacing) {
            pacing.schedule(due, &self.out);
        }
        if announce && let Some(at) = first {
            st.announce_first = false;
            if self.emit.control(MediaEvent::FirstPacketSent { at }) == Flow::Stop {
                return None;
            }
        }
        Some(drained)
    }

    /// Sends every packet due by `now` (TCP wires), topping the pacer up
    /// from the pending chunk before each one (so a pacer that ran dry
    /// resumes at once). Each packet's room is filled as it is made: a late
    /// wake-up that finds the whole queue due (the task starved for longer
    /// than `play_lead`) must not leave the pacer empty while the chunk
    /// still waits, as nothing would schedule a packet or read more audio
    /// then, and the leg would stall mid-sentence for good.
    async fn send_due(&mut self, st: &mut State, now: Instant) -> Flow {
        let mut sent = false;
        loop {
            let (n, level) = {
                let mut out = self.out.lock();
                if std::mem::take(&mut sent) {
                    out.sent.last = Some(now);
                }
                out.pipeline.handle_timeout(now);
                feed(&mut out.pipeline, st, self.play_lead, &self.call, now);
                let next = out.pipeline.poll_transmit_into(&mut st.tx);
                st.view = View::of(&out);
                match next {
                    Some(n) => (n, out.pipeline.last_level()),
                    None => return Flow::Continue,
                }
            };
            match self.wire.send(&mut st.tx, n).await {
                Ok(true) => {
                    self.metrics.packets_out.inc();
                    self.emit.echo.record_sent(now, level);
                    // Noted under the lock of the next round.
                    sent = true;
                    if std::mem::take(&mut st.announce_first)
                        && self.emit.control(MediaEvent::FirstPacketSent { at: now }) == Flow::Stop
                    {
                        return Flow::Stop;
                    }
                }
                Ok(false) => {
                    self.metrics.dropped_no_peer.inc();
                }
                Err(e) => tracing::debug!(call = %self.call, error = %e, "media send failed"),
            }
        }
    }

    fn sync(&self, st: &mut State) {
        let o = self.out.lock().pipeline.stats();
        let i = self.inbound.stats();
        st.synced
            .sync(&self.metrics, i.jitter.late, o.late_sends, o.underruns);
    }
}

/// Moves as much of the pending chunk into the pacer as its room takes
/// (whole frames, up to the lead); the rest waits for packets to go out.
fn feed(
    pipeline: &mut OutboundPipeline,
    st: &mut State,
    play_lead: Duration,
    call: &CallId,
    now: Instant,
) {
    let Some(p) = st.pending.as_mut() else {
        return;
    };
    let room = pipeline.pcm_room(p.rate, play_lead);
    let n = room.min(p.rest().len());
    if n == 0 && !p.rest().is_empty() && pipeline.queued().is_zero() {
        // No room in an empty pacer: a rate no frame can be made of.
        tracing::warn!(call = %call, rate = p.rate, "agent audio not queued");
        st.pending = None;
        return;
    }
    if n > 0 || p.rest().is_empty() {
        if let Err(e) = pipeline.push_pcm(now, &p.rest()[..n], p.rate) {
            // A rate the resampler refuses; a full queue cannot happen
            // within the room. The chunk is given up either way.
            tracing::warn!(call = %call, error = %e, "agent audio not queued");
            st.pending = None;
            return;
        }
        p.done += n;
    }
    if p.rest().is_empty() {
        st.pending = None;
    }
}

#[cfg(test)]
mod tests;
