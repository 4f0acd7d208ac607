//! The driver of one call: owns the call's sockets, provider sessions and
//! the clock, and runs the call core (`machine`). Each wake-up reads the
//! clock once, feeds what woke it to the core and executes the core's
//! effects; the call's writes go to the writer beside the loop. Caller audio
//! frames skip all that: they go straight to the recogniser.

use super::{
    InboundCall, SessionCommand, SessionDeps, SessionEnded,
    effects::{Effects, Write},
    machine::{CallCore, Effect, Ended, Input, Now},
    resources::Resources,
};
use crate::{
    application::ports::{
        media::{AgentAudio, AudioChunk, CallerAudio, FlushReport, MediaCommand, MediaEvent},
        orchestrator::{ConversationId, OrchestratorError, ReplyPart, ReplyStream},
        speech::{
            SpeechToText, SttError, SttEvent, SttSampleRate, SttSession, TextToSpeech, TtsEvent,
            TtsSession,
        },
        telephony::WireFormat,
    },
    domain::{CallId, call::EndReason},
};
use futures_util::StreamExt;
use std::{collections::VecDeque, pin::Pin, sync::Arc};
use tokio::{
    sync::{
        mpsc::{self, error::TrySendError},
        oneshot,
    },
    time::{Instant, Sleep, sleep_until},
};

/// A command that came while setup waited for Asterisk, for the loop.
#[derive(Debug)]
pub(super) enum Held {
    Command(SessionCommand),
}

pub(super) struct Session {
    pub(super) deps: SessionDeps,
    pub(super) call_id: CallId,
    pub(super) inbound: InboundCall,
    pub(super) core: CallCore,
    pub(super) res: Resources,
    pub(super) conversation: Option<ConversationId>,
    pub(super) commands: mpsc::Receiver<SessionCommand>,
    /// A way back into `commands` for work done beside the loop (the
    /// agent lookup); weak, so it never keeps the call alive.
    pub(super) own_commands: Option<mpsc::WeakSender<SessionCommand>>,
    pub(super) leg_events: Option<mpsc::Receiver<MediaEvent>>,
    /// The call's recogniser: the instance default until the route chooses.
    pub(super) stt_provider: Arc<dyn SpeechToText>,
    pub(super) stt: Option<SttSession>,
    /// The call's synthesiser: the instance default until the route chooses.
    pub(super) tts_provider: Arc<dyn TextToSpeech>,
    pub(super) tts: Option<TtsSession>,
    /// The leg's wire format once it is open: the synthesiser is asked for
    /// linear PCM at its rate.
    pub(super) wire_format: Option<WireFormat>,
    /// The rate the leg delivers caller audio at and the recogniser hears
    /// (chosen when the leg opens: see `SpeechToText::sample_rate`).
    pub(super) stt_rate: SttSampleRate,
    pub(super) reply: Option<ReplyStream>,
    /// ARI and the media leg both report a key press: the first is taken.
    pub(super) dtmf_merge: crate::application::dtmf_merge::DtmfMerge,
    /// The call's admission slot. Given back at an attended handover, when
    /// the gateway stops carrying the call's media: a caller talking to a
    /// person must neither count against the gateway's capacity nor hold up
    /// a drain. Otherwise it goes with the task.
    pub(super) permit: Option<crate::application::admission::CallPermit>,
    /// Commands that arrived while setup waited for Asterisk.
    pub(super) held: VecDeque<Held>,
    /// The report of the last barge-in's flush, until the leg answers.
    flush: Option<oneshot::Receiver<FlushReport>>,
    /// The call's writes (record, events, history), run beside the loop.
    pub(super) effects: Effects,
    /// Agent audio the leg's audio channel had no room for yet, in order.
    /// While it is not empty the TTS stream is not read, so it holds at most
    /// one TTS chunk, plus the failure prompt and the end-of-speech marks.
    audio_backlog: VecDeque<AgentAudio>,
    /// The core's next deadline, kept armed across wakes: made afresh each
    /// wake, a timer was put into the runtime's wheel and taken out again
    /// every time (a caller's audio alone wakes the loop 12 times a second).
    timer: Option<Pin<Box<Sleep>>>,
    /// The flush generation of the audio sent now; barge-in bumps it.
    audio_generation: u64,
    /// The time of the current wake-up.
    pub(super) now: Now,
    /// Set by the core's last effect.
    ended: Option<Ended>,
    /// The call's span: parent of its turn stages (see `trace`).
    pub(super) span: tracing::Span,
    /// Set for a call taken over from another instance: resumed, not set up.
    pub(super) takeover: Option<super::resume::Takeover>,
}

/// Why the loop woke.
#[allow(clippy::large_enum_variant)] // moved once per wake; boxing would allocate per audio frame
enum Wake {
    Command(Option<SessionCommand>),
    Media(Option<MediaEvent>),
    Stt(Option<SttEvent>),
    Tts(Option<TtsEvent>),
    Reply(Option<Result<ReplyPart, OrchestratorError>>),
    /// The leg took audio from the backlog.
    AudioSent,
    /// The pending flush's report; `None` from a leg that is gone.
    Flushed(Option<FlushReport>),
    Timer,
}

/// Reads the clock: once per wake-up, and at each step of setup.
#[allow(clippy::disallowed_methods)] // the driver owns the clock
pub(super) fn read_clock() -> Now {
    Now {
        at: Instant::now().into_std(),
        wall: std::time::SystemTime::now(),
    }
}

impl Session {
    pub(super) fn new(
        deps: SessionDeps,
        call_id: CallId,
        inbound: InboundCall,
        commands: mpsc::Receiver<SessionCommand>,
    ) -> Self {
        let now = read_clock();
        let core = CallCore::new(deps.config.clone(), call_id.clone(), inbound.clone(), now);
        let (stt_provider, tts_provider) = (deps.stt.clone(), deps.tts.clone());
        Self {
            deps,
            call_id,
            inbound,
            core,
            res: Resources::default(),
            conversation: None,
            commands,
            own_commands: None,
            leg_events: None,
            stt_provider,
            stt: None,
            tts_provider,
            tts: None,
            reply: None,
            dtmf_merge: Default::default(),
            permit: None,
            held: VecDeque::new(),
            flush: None,
            effects: Effects::new(),
            audio_backlog: VecDeque::new(),
            timer: None,
            wire_format: None,
            stt_rate: SttSampleRate::Hz16000,
            audio_generation: 0,
            now,
            ended: None,
            span: tracing::Span::none(),
            takeover: None,
        }
    }

    /// Runs the call to its end and releases everything.
    pub(super) async fn run(mut self) -> SessionEnded {
        let (published, record) = match (&self.takeover, &self.inbound.outbound) {
            (Some(from), _) => (from.sequence(), Some(from.record.clone())),
            (None, Some(out)) => (out.published, None),
            (None, None) => (0, None),
        };
        self.effects
            .start(&self.deps, self.call_id.clone(), published, record);
        let started = match self.takeover.take() {
            Some(from) => self.resume(from).await,
            None => self.setup().await,
        };
        if started {
            while let Some(Held::Command(c)) = self.held.pop_front() {
                self.feed(Input::Command(c));
                self.drain().await;
            }
        }
        self.drain().await;
        while self.ended.is_none() {
            let wake = self.next_wake().await;
            // Caller audio (a chunk per 80 ms) and the backlog's sends need
            // neither the core nor the clock.
            match wake {
                Wake::Command(Some(SessionCommand::Abandon)) => return self.abandon().await,
                Wake::Media(Some(MediaEvent::Audio(chunk))) => self.hear(chunk),
                Wake::AudioSent => {}
                wake => {
                    self.now = read_clock();
                    self.on_wake(wake);
                    self.drain().await;
                }
            }
        }
        // The router is told of the end once `call.ended` and the record are out.
        self.effects.close().await;
        let ended = self
            .ended
            .take()
            .expect("the loop ends with the core's end");
        SessionEnded {
            caller: self.inbound.caller.clone(),
            call_id: self.call_id.clone(),
            reason: ended.reason,
            latencies: ended.latencies,
            barge_in_delays_ms: ended.barge_in_delays_ms,
            barge_ins_resumed: [
                ended.barge_ins_resumed.noise,
                ended.barge_ins_resumed.backchannel,
                ended.barge_ins_resumed.echo,
            ],
        }
    }

    /// Leaves the call to the instance that took it over: the media leg
    /// closes here, nothing on Asterisk is touched, nothing is published
    /// (the new holder publishes the call's end). Writes already queued go
    /// out; Redis refuses them once the new holder wrote (fencing token).
    async fn abandon(mut self) -> SessionEnded {
        tracing::warn!("call left to the instance that holds the Asterisk's lease now");
        if let Some(leg) = self.res.leg.take() {
            let _ = leg.try_send(MediaCommand::Close);
        }
        self.res = Resources::default();
        self.effects.close().await;
        SessionEnded {
            caller: self.inbound.caller.clone(),
            call_id: self.call_id.clone(),
            reason: EndReason::Shutdown,
            latencies: Vec::new(),
            barge_in_delays_ms: Vec::new(),
            barge_ins_resumed: [0; 3],
        }
    }

    /// Hands `input` to the core at the current wake-up's time.
    pub(super) fn feed(&mut self, input: Input) {
        self.core.handle(self.now, input);
    }

    /// Ends the call (setup failed, or an unrouted DID was refused).
    pub(super) fn end(&mut self, reason: EndReason, hang_up_caller: bool) {
        self.now = read_clock();
        self.feed(Input::End {
            reason,
            hang_up_caller,
        });
    }

    /// Waits for the next thing to happen. Each branch borrows a different field,
    /// and every receiver used here is cancel-safe (`reserve` too: a dropped
    /// reservation only loses its place).
    ///
    /// Backpressure: while agent audio waits in the backlog the TTS stream
    /// is not read, so a synthesiser faster than real time waits in its own
    /// send, and the loop goes on serving everything else meanwhile.
    async fn next_wake(&mut self) -> Wake {
        let deadline = self.core.poll_timeout().map(Instant::from_std);
        if let Some(d) = deadline {
            match self.timer.as_mut() {
                Some(t) if t.deadline() == d => {}
                Some(t) => t.as_mut().reset(d),
                None => self.timer = Some(Box::pin(sleep_until(d))),
            }
        }
        let Session {
            commands,
            leg_events,
            stt,
            tts,
            reply,
            res,
            audio_backlog,
            flush,
            timer,
            ..
        } = self;
        let backlog = !audio_backlog.is_empty();
        tokio::select! {
            biased;
            r = flush_report(flush) => Wake::Flushed(r),
            c = commands.recv() => Wake::Command(c),
            e = recv_media(leg_events) => Wake::Media(e),
            e = recv_stt(stt) => Wake::Stt(e),
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
            () = poll_timer(timer), if deadline.is_some() => Wake::Timer,
        }
    }

    fn on_wake(&mut self, wake: Wake) {
        use crate::application::dtmf_merge::DtmfSource;
        let input = match wake {
            Wake::Command(Some(SessionCommand::Dtmf(d)))
                if !self.dtmf_merge.accept(DtmfSource::Ari, d, self.now.at) =>
            {
                return;
            }
            Wake::Media(Some(MediaEvent::Dtmf { digit }))
                if !self
                    .dtmf_merge
                    .accept(DtmfSource::Media, digit, self.now.at) =>
            {
                return;
            }
            Wake::Command(Some(c)) => Input::Command(c),
            // Every handle is gone: nobody can end this call any more but us.
            Wake::Command(None) => Input::CommandsGone,
            Wake::Media(Some(e)) => match self.media_input(e) {
                Some(input) => input,
                None => return,
            },
            Wake::Media(None) => {
                self.leg_events = None;
                Input::MediaGone
            }
            Wake::Stt(e) => match self.stt_input(e) {
                Some(input) => input,
                None => return,
            },
            Wake::Tts(Some(TtsEvent::Audio(chunk))) => Input::TtsAudio(chunk),
            Wake::Tts(Some(TtsEvent::Done) | None) => Input::TtsDone,
            Wake::Tts(Some(TtsEvent::Error(e))) => Input::TtsFailed(e.to_string()),
            Wake::Reply(p) => self.reply_input(p),
            Wake::AudioSent => return,
            Wake::Flushed(report) => {
                self.flush = None;
                Input::Flushed(report)
            }
            Wake::Timer => return self.core.handle_timeout(self.now),
        };
        self.feed(input);
    }

    /// The leg's events other than audio are the core's.
    fn media_input(&mut self, event: MediaEvent) -> Option<Input> {
        match event {
            MediaEvent::Audio(chunk) => {
                self.hear(chunk);
                None
            }
            MediaEvent::SpeechStarted { at, echo } => Some(Input::SpeechStarted { at, echo }),
            MediaEvent::SpeechPaused { at } => Some(Input::SpeechPaused { at }),
            MediaEvent::SpeechEnded { at } => Some(Input::SpeechEnded { at }),
            MediaEvent::Dtmf { digit } => Some(Input::Dtmf(digit)),
            MediaEvent::Latched { peer } => {
                tracing::debug!(%peer, "media latched");
                None
            }
            MediaEvent::PlaybackDrained { .. } => Some(Input::PlaybackDrained),
            // Listened for only while an outbound call is screened.
            MediaEvent::Tone { hz, .. } => {
                tracing::debug!(hz, "tone heard after the screening");
                None
            }
            MediaEvent::FirstPacketSent { at } => Some(Input::FirstPacketSent { at }),
        }
    }

    /// Caller audio goes straight to the recogniser, its buffer moved.
    fn hear(&mut self, chunk: CallerAudio) {
        if let Some(stt) = &mut self.stt
            && let Err(e) = stt.push_audio(chunk.pcm)
        {
            // An overrun drops one chunk; a closed session is handled on recv.
            if !matches!(e, SttError::Overrun { .. }) {
                tracing::debug!(error = %e, "frame not taken by STT");
            }
        }
    }

    fn stt_input(&mut self, event: Option<SttEvent>) -> Option<Input> {
        match event {
            Some(SttEvent::Interim { text, .. }) => Some(Input::SttInterim {
                words: text.split_whitespace().count(),
            }),
            Some(SttEvent::Final {
                text, confidence, ..
            }) => Some(Input::SttFinal { text, confidence }),
            Some(SttEvent::SpeechStarted { .. }) => None,
            Some(SttEvent::Error(e)) => {
                self.stt = None;
                self.listen();
                Some(Input::SttFailed(e.to_string()))
            }
            None => {
                self.stt = None;
                self.listen();
                Some(Input::SttFailed("session closed".into()))
            }
        }
    }

    fn reply_input(&mut self, part: Option<Result<ReplyPart, OrchestratorError>>) -> Input {
        match part {
            Some(Ok(ReplyPart::Text(text))) => Input::ReplyText(text),
            Some(Ok(ReplyPart::Action(action))) => Input::ReplyAction(action),
            Some(Ok(ReplyPart::Done)) | None => {
                self.reply = None;
                Input::ReplyDone
            }
            Some(Err(e)) => {
                self.reply = None;
                Input::ReplyFailed {
                    timeout: matches!(e, OrchestratorError::Timeout { .. }),
                    error: e.to_string(),
                }
            }
        }
    }

    /// Hands the core's writes at the head of its queue to the writer: what a
    /// setup step's transition produced.
    pub(super) fn submit_writes(&mut self) {
        while let Some(effect) = self.core.poll_write() {
            match effect {
                Effect::Save(record) => self.effects.submit(Write::Record(record)),
                Effect::Publish(event) => self.effects.submit(Write::Event(event)),
                Effect::WriteHistory(record) => self.effects.submit(Write::History(record)),
                _ => unreachable!("poll_write yields writes only"),
            }
        }
    }

    /// Executes the core's effects until it has none; results go back in
    /// before the next effect is taken.
    pub(super) async fn drain(&mut self) {
        while let Some(effect) = self.core.poll_effect() {
            self.execute(effect).await;
        }
        self.trace_turns();
    }

    async fn execute(&mut self, effect: Effect) {
        match effect {
            Effect::Play(chunk) => self.leg_audio(chunk),
            Effect::Flush => self.flush_leg(),
            Effect::PausePlayout => self.leg_send(MediaCommand::PausePlayout),
            Effect::ResumePlayout => self.leg_send(MediaCommand::ResumePlayout),
            Effect::Save(record) => self.effects.submit(Write::Record(record)),
            Effect::Publish(event) => self.effects.submit(Write::Event(event)),
            Effect::WriteHistory(record) => self.effects.submit(Write::History(record)),
            Effect::HandedOver => {
                if let Some(permit) = self.permit.take() {
                    self.effects.submit(Write::Release(permit));
                }
            }
            Effect::End(ended) => self.ended = Some(ended),
            Effect::OpenStt
            | Effect::FinishStt
            | Effect::CloseStt
            | Effect::OpenTts { .. }
            | Effect::SpeakText(_)
            | Effect::FinishTts
            | Effect::CloseTts
            | Effect::SendTurn(_)
            | Effect::DropReply => self.execute_speech(effect).await,
            other => self.execute_telephony(other).await,
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

    /// Tells the media leg where caller audio goes: straight to the open
    /// recogniser, or nowhere while none is open. Said whenever either end
    /// changes. Should the command be lost (a stuck leg), the leg goes on
    /// handing its audio up, or drops it once a recogniser it was told of
    /// is gone: `hear` still takes audio that comes up.
    pub(super) fn listen(&self) {
        self.leg_send(MediaCommand::Listen(
            self.stt.as_ref().map(SttSession::audio),
        ));
    }

    /// Sends agent audio to the media leg, in order, never dropping it: what
    /// the leg's audio channel has no room for waits in the backlog, which the
    /// loop sends on as room appears (and stops reading TTS meanwhile).
    fn leg_audio(&mut self, chunk: AudioChunk) {
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
    /// so the leg drops what it has not read yet; its report comes back as
    /// an input. A leg that is gone drops the reply sender: the report is
    /// `None` at once.
    fn flush_leg(&mut self) {
        self.audio_backlog.clear();
        self.audio_generation += 1;
        let (reply, report) = oneshot::channel();
        self.flush = Some(report);
        self.leg_send(MediaCommand::Flush {
            generation: self.audio_generation,
            reply,
        });
    }

    /// The AI leaves the call at an attended handover.
    pub(super) fn leave_media(&mut self) {
        if let Some(leg) = self.res.leg.take() {
            let _ = leg.try_send(MediaCommand::Close);
        }
        self.audio_backlog.clear();
        self.leg_events = None;
        self.flush = None;
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

async fn flush_report(flush: &mut Option<oneshot::Receiver<FlushReport>>) -> Option<FlushReport> {
    match flush {
        Some(report) => report.await.ok(),
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

async fn poll_timer(timer: &mut Option<Pin<Box<Sleep>>>) {
    match timer {
        Some(t) => t.as_mut().await,
        None => std::future::pending().await,
    }
}
