//! The session's state and its loop.

use super::{
    InboundCall, SessionCommand, SessionDeps, SessionEnded, effects::Effects, latency::Marks,
    resources::Resources,
};
use crate::{
    application::{
        ports::{
            directory::Route,
            media::{AgentAudio, AudioChunk, FlushReport, MediaCommand, MediaEvent},
            orchestrator::{ConversationId, OrchestratorError, ReplyPart, ReplyStream},
            speech::{SpeechToText, SttEvent, SttSession, TextToSpeech, TtsEvent, TtsSession},
        },
        sentences::SentenceSplitter,
    },
    domain::{
        CallId, TenantId,
        call::{Call, Direction, EndReason},
    },
};
use futures_util::StreamExt;
use std::{collections::VecDeque, sync::Arc};
use tokio::{
    sync::{
        mpsc::{self, error::TrySendError},
        oneshot,
    },
    time::{Instant, sleep_until},
};

/// What to do when the agent's current speech has been played out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum AfterSpeech {
    Listen,
    Hangup(EndReason),
    Transfer(crate::domain::TransferTarget),
}

/// The deadlines of the turn; the loop sleeps until the nearest.
#[derive(Debug, Clone, Default)]
pub(super) struct Deadlines {
    /// Listening with no speech: reprompt.
    pub(super) silence: Option<Instant>,
    /// Speech ended: end the turn unless it resumes.
    pub(super) endpoint: Option<Instant>,
    /// `finish` sent to STT: stop waiting for the final.
    pub(super) final_result: Option<Instant>,
    /// The caller has talked too long: cut the turn.
    pub(super) max_turn: Option<Instant>,
    /// Text sent to TTS and no audio yet.
    pub(super) tts_first_byte: Option<Instant>,
    /// Attended transfer: the person's leg has rung long enough.
    pub(super) transfer: Option<Instant>,
}

impl Deadlines {
    fn next(&self) -> Option<Instant> {
        [
            self.silence,
            self.endpoint,
            self.final_result,
            self.max_turn,
            self.tts_first_byte,
            self.transfer,
        ]
        .into_iter()
        .flatten()
        .min()
    }
}

/// A barge-in whose flush the leg has not reported yet. Its figures (what
/// the caller heard, how soon the audio stopped) make `call.bargein` and the
/// turn's history, so the barge-in is completed when the report comes in.
pub(super) struct PendingFlush {
    pub(super) onset: Instant,
    pub(super) report: oneshot::Receiver<FlushReport>,
    /// The leg answers within one turn of its task; a stuck one is given up on.
    pub(super) deadline: Instant,
}

/// An input that waits for the barge-in before it to be complete: it must
/// see the call as the completed barge-in leaves it (listening, the heard
/// text known), as when the loop awaited the report.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // a few at most, and never audio frames
pub(super) enum Held {
    Command(SessionCommand),
    Media(MediaEvent),
}

/// One text piece sent to TTS and the audio it produced so far.
#[derive(Debug, Clone)]
pub(super) struct Piece {
    pub(super) id: u32,
    pub(super) text: String,
    pub(super) audio: std::time::Duration,
}

pub(super) struct Session {
    pub(super) deps: SessionDeps,
    pub(super) call_id: CallId,
    pub(super) tenant: TenantId,
    pub(super) inbound: InboundCall,
    pub(super) route: Option<Route>,
    pub(super) call: Call,
    pub(super) metadata: std::collections::BTreeMap<String, String>,
    pub(super) res: Resources,
    pub(super) conversation: Option<ConversationId>,
    pub(super) commands: mpsc::Receiver<SessionCommand>,
    pub(super) leg_events: Option<mpsc::Receiver<MediaEvent>>,
    /// The call's recogniser: the instance default until the route chooses.
    pub(super) stt_provider: Arc<dyn SpeechToText>,
    pub(super) stt: Option<SttSession>,
    pub(super) stt_failures: u32,
    /// The call's synthesiser: the instance default until the route chooses.
    pub(super) tts_provider: Arc<dyn TextToSpeech>,
    /// The providers behind `stt_provider`, in order; empty when routes
    /// cannot choose (no catalog).
    pub(super) stt_names: Vec<String>,
    /// Likewise for `tts_provider`.
    pub(super) tts_names: Vec<String>,
    pub(super) tts: Option<TtsSession>,
    /// Every provider failed the current speech: its rest is not attempted.
    pub(super) speech_failed: bool,
    pub(super) reply: Option<ReplyStream>,
    pub(super) splitter: SentenceSplitter,
    pub(super) reply_done: bool,
    pub(super) tts_done: bool,
    pub(super) pieces: Vec<Piece>,
    pub(super) after_speech: AfterSpeech,
    pub(super) transcript: String,
    pub(super) last_confidence: Option<f32>,
    pub(super) interrupted: Option<String>,
    pub(super) reprompts: u32,
    pub(super) deadlines: Deadlines,
    pub(super) marks: Marks,
    pub(super) latencies: Vec<super::TurnLatency>,
    pub(super) turn_records: Vec<crate::application::ports::history::TurnRecord>,
    pub(super) barge_ins: u32,
    /// ARI and the media leg both report a key press: the first is taken.
    pub(super) dtmf_merge: crate::application::dtmf_merge::DtmfMerge,
    pub(super) barge_in_delays_ms: Vec<f64>,
    pub(super) ending: Option<(EndReason, bool)>,
    /// An attended transfer in progress.
    pub(super) attended: Option<super::attended::Attended>,
    /// Caller and person are connected: the session only keeps their bridge.
    pub(super) bridged: bool,
    /// The call's admission slot. Given back at an attended handover, when
    /// the gateway stops carrying the call's media: a caller talking to a
    /// person must neither count against the gateway's capacity nor hold up
    /// a drain. Otherwise it goes with the task.
    pub(super) permit: Option<crate::application::admission::CallPermit>,
    /// `call.ended` is out (an attended transfer publishes it at the handover).
    pub(super) ended_published: bool,
    /// Inputs to handle before any new one: commands that arrived while
    /// setup waited for Asterisk, and whatever waits for a barge-in's flush.
    pub(super) held: VecDeque<Held>,
    /// A barge-in waiting for its flush report.
    pub(super) flush: Option<PendingFlush>,
    /// The call's writes (record, events, history), run beside the loop.
    pub(super) effects: Effects,
    /// Agent audio the leg's audio channel had no room for yet, in order.
    /// While it is not empty the TTS stream is not read, so it holds at most
    /// one TTS chunk, plus the failure prompt and the end-of-speech marks.
    pub(super) audio_backlog: VecDeque<AgentAudio>,
    /// The flush generation of the audio sent now; barge-in bumps it.
    pub(super) audio_generation: u64,
}

/// Why the loop woke.
#[allow(clippy::large_enum_variant)] // moved once per wake; boxing would allocate per audio frame
pub(super) enum Wake {
    Command(Option<SessionCommand>),
    Media(Option<MediaEvent>),
    Stt(Option<SttEvent>),
    Tts(Option<TtsEvent>),
    Reply(Option<Result<ReplyPart, OrchestratorError>>),
    /// The leg took audio from the backlog.
    AudioSent,
    /// The pending flush's report; `None` from a leg that is gone or stuck.
    Flushed(Option<FlushReport>),
    Timer,
}

impl Session {
    pub(super) fn new(
        deps: SessionDeps,
        call_id: CallId,
        inbound: InboundCall,
        commands: mpsc::Receiver<SessionCommand>,
    ) -> Self {
        let now = std::time::SystemTime::now();
        let (tenant, route, call, metadata) = match &inbound.outbound {
            Some(o) => (
                o.route.tenant.clone(),
                Some(o.route.clone()),
                o.call.clone(),
                o.metadata.clone(),
            ),
            // Until the route is known; an unrouted call keeps this tenant.
            None => (
                TenantId::parse("unrouted").expect("valid"),
                None,
                Call::new(Direction::Inbound, now),
                Default::default(),
            ),
        };
        let (stt_provider, tts_provider) = (deps.stt.clone(), deps.tts.clone());
        Self {
            deps,
            call_id,
            tenant,
            inbound,
            route,
            call,
            metadata,
            res: Resources::default(),
            conversation: None,
            commands,
            leg_events: None,
            stt_provider,
            stt: None,
            stt_failures: 0,
            tts_provider,
            stt_names: Vec::new(),
            tts_names: Vec::new(),
            tts: None,
            speech_failed: false,
            reply: None,
            splitter: SentenceSplitter::new(),
            reply_done: true,
            tts_done: true,
            pieces: Vec::new(),
            after_speech: AfterSpeech::Listen,
            transcript: String::new(),
            last_confidence: None,
            interrupted: None,
            reprompts: 0,
            deadlines: Deadlines::default(),
            marks: Marks::default(),
            latencies: Vec::new(),
            turn_records: Vec::new(),
            barge_ins: 0,
            dtmf_merge: Default::default(),
            barge_in_delays_ms: Vec::new(),
            ending: None,
            attended: None,
            bridged: false,
            permit: None,
            ended_published: false,
            held: VecDeque::new(),
            flush: None,
            effects: Effects::new(),
            audio_backlog: VecDeque::new(),
            audio_generation: 0,
        }
    }

    /// Runs the call to its end and releases everything.
    pub(super) async fn run(mut self) -> SessionEnded {
        self.effects.start(&self.deps, self.call_id.clone());
        if self.setup().await {
            while self.ending.is_none() {
                if self.flush.is_none()
                    && let Some(input) = self.held.pop_front()
                {
                    self.on_held(input).await;
                    continue;
                }
                let wake = self.next_wake().await;
                self.on_wake(wake).await;
            }
        }
        // Ended while the leg had not reported a flush: it is gone, or
        // answered just now.
        if let Some(mut flush) = self.flush.take() {
            let report = flush.report.try_recv().ok();
            self.barge_in_reported(flush.onset, report);
        }
        let (reason, hang_up_caller) = self
            .ending
            .take()
            .unwrap_or((EndReason::Error("session stopped".into()), true));
        self.finish(reason, hang_up_caller).await
    }

    /// Waits for the next thing to happen. Each branch borrows a different field,
    /// and every receiver used here is cancel-safe (`reserve` too: a dropped
    /// reservation only loses its place).
    ///
    /// Backpressure: while agent audio waits in the backlog the TTS stream
    /// is not read, so a synthesiser faster than real time waits in its own
    /// send, and the loop goes on serving everything else meanwhile.
    ///
    /// While a barge-in waits for its flush report, only the report and the
    /// leg's events are read: caller audio goes on to STT, the leg's other
    /// events are held, and commands, STT results and timers wait in their
    /// channels (the leg answers within one turn of its task).
    async fn next_wake(&mut self) -> Wake {
        let Session {
            commands,
            leg_events,
            stt,
            tts,
            reply,
            deadlines,
            res,
            audio_backlog,
            flush,
            ..
        } = self;
        let deadline = deadlines.next();
        let backlog = !audio_backlog.is_empty();
        let flushing = flush.is_some();
        tokio::select! {
            biased;
            r = flush_report(flush) => Wake::Flushed(r),
            c = commands.recv(), if !flushing => Wake::Command(c),
            e = recv_media(leg_events) => Wake::Media(e),
            e = recv_stt(stt), if !flushing => Wake::Stt(e),
            r = reserve_audio(res.leg.as_ref().map(|l| &l.audio)), if backlog => {
                match r {
                    Ok(permit) => {
                        if let Some(audio) = audio_backlog.pop_front() {
                            permit.send(audio);
                        }
                    }
                    // The leg is gone; its events channel says so next.
                    Err(_) => audio_backlog.clear(),
                }
                Wake::AudioSent
            }
            e = recv_tts(tts), if !backlog => Wake::Tts(e),
            p = next_part(reply) => Wake::Reply(p),
            () = sleep_opt(deadline), if !flushing => Wake::Timer,
        }
    }

    async fn on_wake(&mut self, wake: Wake) {
        use crate::application::dtmf_merge::DtmfSource;
        match wake {
            Wake::Command(Some(SessionCommand::Dtmf(d)))
                if !self.dtmf_merge.accept(DtmfSource::Ari, d, Instant::now()) => {}
            Wake::Media(Some(MediaEvent::Dtmf { digit }))
                if !self
                    .dtmf_merge
                    .accept(DtmfSource::Media, digit, Instant::now()) => {}
            Wake::Command(Some(c)) => self.on_command(c).await,
            // Every handle is gone: nobody can end this call any more but us.
            Wake::Command(None) => self.end(EndReason::Shutdown, true),
            Wake::Media(Some(e)) if self.flush.is_some() && !matches!(e, MediaEvent::Audio(_)) => {
                self.held.push_back(Held::Media(e));
            }
            Wake::Media(Some(e)) => self.on_media(e).await,
            Wake::Media(None) => {
                self.leg_events = None;
                self.end(EndReason::Error("media leg ended".into()), true);
            }
            Wake::Stt(e) => self.on_stt(e).await,
            Wake::Tts(e) => self.on_tts(e).await,
            Wake::Reply(p) => self.on_reply(p).await,
            Wake::AudioSent => {}
            Wake::Flushed(report) => {
                if let Some(flush) = self.flush.take() {
                    self.barge_in_reported(flush.onset, report);
                }
            }
            Wake::Timer => self.on_timer().await,
        }
    }

    async fn on_held(&mut self, input: Held) {
        match input {
            Held::Command(c) => self.on_command(c).await,
            Held::Media(e) => self.on_media(e).await,
        }
    }

    /// Marks the call for ending; the loop stops after the current wake.
    pub(super) fn end(&mut self, reason: EndReason, hang_up_caller: bool) {
        if self.ending.is_none() {
            self.ending = Some((reason, hang_up_caller));
        }
    }

    /// Sends a control command to the media leg without waiting. The leg
    /// reads them before anything else, so its queue only fills if its task
    /// is stuck; then the command is dropped and logged.
    pub(super) fn leg_send(&self, cmd: MediaCommand) {
        if let Some(leg) = &self.res.leg
            && let Err(e) = leg.try_send(cmd)
        {
            tracing::warn!(call_id = %self.call_id, error = %e, "media leg did not take a command");
        }
    }

    /// Sends agent audio to the media leg, in order, never dropping it: what
    /// the leg's audio channel has no room for waits in the backlog, which the
    /// loop sends on as room appears (and stops reading TTS meanwhile).
    pub(super) fn leg_audio(&mut self, chunk: AudioChunk) {
        let Some(leg) = &self.res.leg else { return };
        let audio = AgentAudio {
            generation: self.audio_generation,
            chunk,
        };
        if !self.audio_backlog.is_empty() {
            self.audio_backlog.push_back(audio);
            return;
        }
        match leg.audio.try_send(audio) {
            Ok(()) => {}
            Err(TrySendError::Full(audio)) => self.audio_backlog.push_back(audio),
            Err(TrySendError::Closed(_)) => {
                tracing::debug!(call_id = %self.call_id, "media leg gone; agent audio not sent");
            }
        }
    }

    /// Barge-in: forgets the audio not yet sent and starts a new generation,
    /// so the leg drops what it has not read yet. Returns the `Flush` to send.
    pub(super) fn cut_audio(&mut self) -> u64 {
        self.audio_backlog.clear();
        self.audio_generation += 1;
        self.audio_generation
    }
}

async fn reserve_audio(
    leg: Option<&mpsc::Sender<AgentAudio>>,
) -> Result<mpsc::Permit<'_, AgentAudio>, mpsc::error::SendError<()>> {
    match leg {
        Some(leg) => leg.reserve().await,
        None => std::future::pending().await,
    }
}

async fn flush_report(flush: &mut Option<PendingFlush>) -> Option<FlushReport> {
    match flush {
        Some(f) => tokio::time::timeout_at(f.deadline, &mut f.report)
            .await
            .ok()
            .and_then(Result::ok),
        None => std::future::pending().await,
    }
}

async fn recv_media(rx: &mut Option<mpsc::Receiver<MediaEvent>>) -> Option<MediaEvent> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn recv_stt(s: &mut Option<SttSession>) -> Option<SttEvent> {
    match s {
        Some(s) if s.is_active() => s.recv().await,
        _ => std::future::pending().await,
    }
}

async fn recv_tts(s: &mut Option<TtsSession>) -> Option<TtsEvent> {
    match s {
        Some(s) if s.is_active() => s.recv().await,
        _ => std::future::pending().await,
    }
}

async fn next_part(r: &mut Option<ReplyStream>) -> Option<Result<ReplyPart, OrchestratorError>> {
    match r {
        Some(r) => r.next().await,
        None => std::future::pending().await,
    }
}

async fn sleep_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => sleep_until(d).await,
        None => std::future::pending().await,
    }
}
