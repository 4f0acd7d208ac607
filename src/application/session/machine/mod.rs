//! The call core: one call's conversation as a deterministic state machine,
//! after quinn-proto and str0m. It opens nothing, spawns nothing and never
//! reads the clock; the driver (`session::run`) owns the sockets, provider
//! sessions and the clock.
//!
//! # Driving it
//! On each wake-up the driver reads the clock once and
//! 1. feeds what woke it: [`CallCore::handle`] with an [`Input`], or
//!    [`CallCore::handle_timeout`] when [`CallCore::poll_timeout`] is due;
//! 2. drains [`CallCore::poll_effect`] until `None`, executing each
//!    [`Effect`] in order. An effect with a result (opening a synthesis,
//!    `continue`, joining the person) is answered by feeding its input back
//!    before the next effect is taken, so the core sees the world as one
//!    sequence;
//! 3. sleeps until [`CallCore::poll_timeout`].
//!
//! [`Effect::End`] is the last effect; after it the core ignores every input.
//! Writes (record, events, history) are effects like the others, but the
//! driver runs them beside its loop (`session::effects`), so a slow store
//! never holds up the call's audio.
//!
//! # Barge-in
//! A barge-in asks the leg to flush and waits for its report (what the
//! caller heard makes `call.bargein` and the next turn). Inputs that arrive
//! meanwhile are held and handled once it is complete, so they see the call
//! listening; only an end does not wait. They are handled from
//! `poll_effect`, one at a time, each once the effects before it are done.
//!
//! In pause mode a barge-in starts as a hold: the leg pauses the agent's
//! audio (`Effect::PausePlayout`) while the speech goes on in the core and
//! the sound is judged (`barge_in`): noise, a backchannel or our own echo
//! resumes it where it stopped (`Effect::ResumePlayout`), speech becomes
//! the barge-in above. The leg is paused exactly while the core holds.
//!
//! # Files
//! `conversation` (the states and their data), `timers` (the deadlines),
//! `listen` (turns, digits, silence), `speak` (reply → sentences, what follows
//! a speech), `synthesis`, `barge_in`, `control` (commands, blind transfer,
//! the end), `attended` (attended transfer), `publish` and `history` (the
//! call's writes), `setup` (what the driver's setup reports). `tests` drives
//! the core without tokio: a table per transition and seeded random
//! interleavings checked against the call's invariants.

mod attended;
mod barge_in;
mod control;
mod conversation;
mod effect;
mod history;
mod input;
mod keys;
mod listen;
mod policy;
mod publish;
mod screen;
mod setup;
mod speak;
mod speculate;
mod synthesis;
mod timers;

#[cfg(test)]
mod tests;

pub(crate) use barge_in::Resumed;
pub(crate) use effect::{Effect, Ended};
pub(crate) use input::{Input, Now};
pub(crate) use setup::StartFailure;

use super::{InboundCall, SessionConfig, TurnLatency, latency::Marks};
use crate::{
    application::ports::{directory::Route, history::TurnRecord},
    domain::{
        CallId, TenantId,
        call::{Call, CallState, Direction, EndReason, Phase},
    },
};
use conversation::{Conversation, Hold, Speech};
use std::{collections::VecDeque, sync::Arc, time::Instant};
use timers::{Timer, Timers};

/// One call's conversation; see the module doc for how to drive it.
#[derive(Debug)]
pub(crate) struct CallCore {
    cfg: Arc<SessionConfig>,
    who: Who,
    call: Call,
    conv: Conversation,
    timers: Timers,
    /// The time of the input being handled.
    now: Now,
    /// Set while an input is handled; the call ends once it has been.
    ending: Option<(EndReason, bool)>,
    /// Why the call could not start, while its caller is being transferred
    /// for it (the apology follows if the transfer fails).
    start_failure: Option<EndReason>,
    /// Inputs that wait for a barge-in to complete.
    held: VecDeque<Input>,
    /// Pause mode: the agent's audio is paused while caller sound is judged.
    hold: Option<Hold>,
    stt: Recogniser,
    /// Reprompts in a row with no turn.
    reprompts: u32,
    /// What the caller heard of the reply they barged in on, for their next turn.
    interrupted: Option<String>,
    /// A turn sent ahead was dropped because the caller went on: the next
    /// turn tells the agent so.
    superseded: bool,
    /// The call was taken over from another instance and no turn went out
    /// since: the next turn tells the agent its reply in flight was cut.
    taken_over: bool,
    /// The reply stream open is a speculative turn's.
    ahead: bool,
    log: TurnLog,
    /// The caller's keys and how they are kept private.
    keys: keys::Keys,
    /// Masks the caller's transcripts turn after turn, holding one back
    /// while a card may go on in the next (a card over two turns).
    masker: crate::domain::pii::CallMasker<publish::HeldTurn>,
    effects: VecDeque<Effect>,
}

/// Who the call is, as its records and events say.
#[derive(Debug)]
struct Who {
    call_id: CallId,
    tenant: TenantId,
    inbound: InboundCall,
    route: Option<Route>,
    /// The agent's version, once the orchestrator has named it.
    agent_version: Option<String>,
    metadata: std::collections::BTreeMap<String, String>,
    stt_names: Vec<String>,
    tts_names: Vec<String>,
    /// Who answered an outbound call screened for a machine, once decided.
    answered_by: Option<crate::domain::screening::AnsweredBy>,
    /// The call's trace, when traces are exported.
    trace_id: Option<String>,
    /// The orchestrator's conversation, once opened (kept in the record so
    /// that another instance can go on with it).
    conversation: Option<String>,
}

/// The recogniser as the core knows it.
#[derive(Debug, Default)]
struct Recogniser {
    /// The driver holds one, or was asked to open one: closing it is the
    /// core's to ask (an open asked for before the end is closed after it).
    open: bool,
    /// Failures in a row.
    failures: u32,
}

/// The figures and history the call gathers turn by turn.
#[derive(Debug, Default)]
struct TurnLog {
    marks: Marks,
    /// Turns whose figures are known, with their caller turn number, until
    /// the driver takes them for the call's trace.
    closed: VecDeque<(u32, Marks)>,
    latencies: Vec<TurnLatency>,
    records: Vec<TurnRecord>,
    barge_ins: u32,
    barge_in_delays_ms: Vec<f64>,
    /// Barge-in holds that resumed the agent.
    resumed: Resumed,
}

impl CallCore {
    pub(crate) fn new(
        cfg: Arc<SessionConfig>,
        call_id: CallId,
        inbound: InboundCall,
        now: Now,
    ) -> Self {
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
                Call::new(Direction::Inbound, now.wall),
                Default::default(),
            ),
        };
        Self {
            cfg,
            who: Who {
                call_id,
                tenant,
                inbound,
                route,
                agent_version: None,
                metadata,
                stt_names: Vec::new(),
                tts_names: Vec::new(),
                answered_by: None,
                trace_id: None,
                conversation: None,
            },
            call,
            conv: Conversation::Setup,
            timers: Timers::default(),
            now,
            ending: None,
            start_failure: None,
            held: VecDeque::new(),
            hold: None,
            stt: Recogniser::default(),
            reprompts: 0,
            interrupted: None,
            superseded: false,
            taken_over: false,
            ahead: false,
            log: TurnLog::default(),
            keys: keys::Keys::default(),
            masker: Default::default(),
            effects: VecDeque::new(),
        }
    }

    /// Handles one input at `now`.
    pub(crate) fn handle(&mut self, now: Now, input: Input) {
        self.now = now;
        if self.is_ended() {
            return;
        }
        self.dispatch(input);
        self.end_if_asked();
    }

    /// Handles every deadline due at `now`.
    pub(crate) fn handle_timeout(&mut self, now: Now) {
        self.now = now;
        if self.is_ended() {
            return;
        }
        self.on_timers();
        self.end_if_asked();
    }

    /// The next thing to do, in order. Once the effects of one input are
    /// out, an input held for a completed barge-in is handled: one at a
    /// time, so that the results of one's effects are in before the next.
    pub(crate) fn poll_effect(&mut self) -> Option<Effect> {
        loop {
            if let Some(effect) = self.effects.pop_front() {
                return Some(effect);
            }
            if self.is_ended() || matches!(self.conv, Conversation::BargingIn(_)) {
                return None;
            }
            let input = self.held.pop_front()?;
            self.dispatch(input);
            self.end_if_asked();
        }
    }

    /// The next effect if it is a write (record, event, history): setup
    /// steps submit their writes at once and leave the rest for the loop.
    pub(crate) fn poll_write(&mut self) -> Option<Effect> {
        let write = matches!(
            self.effects.front(),
            Some(Effect::Save(_) | Effect::Publish(_) | Effect::WriteHistory(_))
        );
        if write {
            self.effects.pop_front()
        } else {
            None
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) is next due. While a
    /// barge-in waits for its flush only its own deadline counts: the
    /// turn's deadlines apply to the call as the barge-in leaves it.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        match self.conv {
            Conversation::Ended => None,
            Conversation::BargingIn(_) => self.timers.get(Timer::Flush),
            _ => self.timers.next(),
        }
    }

    /// `Effect::End` has been given out.
    pub(crate) fn is_ended(&self) -> bool {
        matches!(self.conv, Conversation::Ended)
    }

    fn dispatch(&mut self, input: Input) {
        if matches!(self.conv, Conversation::BargingIn(_)) && waits_for_barge_in(&input) {
            self.held.push_back(input);
            return;
        }
        let Some(input) = self.hold_speculative_reply(input) else {
            return;
        };
        match input {
            Input::SpeechStarted { at, echo } => self.on_speech_started(at, echo),
            Input::SpeechPaused { at } => self.on_speech_paused(at),
            Input::SpeechEnded { at } => self.on_speech_ended(at),
            Input::PlaybackDrained => self.on_playback_drained(),
            Input::FirstPacketSent { at } => self.on_first_packet(at),
            Input::Dtmf(digit) => self.on_dtmf(digit),
            Input::Flushed(report) => self.barge_in_reported(report),
            Input::MediaGone => self.end(EndReason::Error("media leg ended".into()), true),
            Input::SttInterim { words } => self.on_interim(words),
            Input::SttFinal { text, confidence } => self.on_final(&text, confidence),
            Input::SttFailed(error) => self.stt_failed(error),
            // Counted as open since it was asked for.
            Input::SttOpened => {}
            Input::SttOpenFailed(error) => self.stt_unavailable(error),
            Input::SttFinishFailed => self.stt_finish_failed(),
            Input::ReplyText(text) => self.on_reply_text(&text),
            Input::ReplyAction(action) => self.on_action(action),
            Input::ReplyDone => self.reply_finished(),
            Input::ReplyFailed { error, timeout } => self.reply_failed(error, timeout),
            Input::TtsOpened => self.tts_opened(),
            Input::TtsAudio(chunk) => self.on_tts_audio(chunk),
            Input::TtsDone => self.on_tts_done(),
            Input::TtsFailed(error) => self.tts_failed(error),
            Input::Command(command) => self.on_command(command),
            Input::CommandsGone => self.end(EndReason::Shutdown, true),
            Input::Continued(result) => self.continued(result),
            Input::OriginateFailed(error) => self.originate_failed(error),
            Input::PersonJoined(result) => self.person_joined(result),
            Input::End {
                reason,
                hang_up_caller,
            } => self.end(reason, hang_up_caller),
        }
    }

    fn emit(&mut self, effect: Effect) {
        debug_assert!(!self.is_ended(), "effect after the end: {effect:?}");
        self.effects.push_back(effect);
    }

    pub(crate) fn phase(&self) -> Option<Phase> {
        match self.call.state() {
            CallState::Active { phase } => Some(*phase),
            _ => None,
        }
    }

    /// The speech in progress, said to the caller or over a ringing transfer.
    fn speech_mut(&mut self) -> Option<&mut Speech> {
        match &mut self.conv {
            Conversation::Responding(s) => Some(s),
            Conversation::Attended(t) => t.speech.as_mut(),
            _ => None,
        }
    }

    fn take_speech(&mut self) -> Option<Speech> {
        // A hold on this speech ends with it (a barge-in drops it first).
        self.drop_hold();
        // Its played-out report is no longer waited for.
        self.timers.clear(timers::Timer::Drain);
        match &mut self.conv {
            Conversation::Responding(_) => {
                match std::mem::replace(&mut self.conv, Conversation::Setup) {
                    Conversation::Responding(s) => Some(s),
                    _ => unreachable!("matched above"),
                }
            }
            Conversation::Attended(t) => t.speech.take(),
            _ => None,
        }
    }

    /// Stops the speech in progress, if any: its synthesis and the reply
    /// behind it.
    fn abandon_speech(&mut self) {
        if let Some(speech) = self.take_speech() {
            self.close_speech(&speech);
        }
    }

    fn close_speech(&mut self, speech: &Speech) {
        if speech.reply.is_some() {
            self.emit(Effect::DropReply);
        }
        if speech.tts.live() {
            self.emit(Effect::CloseTts);
        }
    }

    fn language(&self) -> String {
        self.who
            .route
            .as_ref()
            .map_or("en-US".to_owned(), |r| r.language.clone())
    }
}

/// Whether `input` must wait for a barge-in's flush report: everything the
/// caller, the recogniser or the API says. An end does not wait.
fn waits_for_barge_in(input: &Input) -> bool {
    use super::SessionCommand as C;
    match input {
        Input::SpeechStarted { .. }
        | Input::SpeechPaused { .. }
        | Input::SpeechEnded { .. }
        | Input::PlaybackDrained
        | Input::Dtmf(_)
        | Input::SttInterim { .. }
        | Input::SttFinal { .. }
        | Input::SttFailed(_) => true,
        Input::Command(c) => !matches!(c, C::CallerGone | C::ChannelLost | C::Hangup(_)),
        _ => false,
    }
}
