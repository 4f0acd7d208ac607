//! The per-call session: the turn loop that ties the caller's audio, speech
//! recognition, the agent and speech synthesis together.
//!
//! The call's behaviour is a deterministic state machine, `machine`: no
//! tokio, no clock, every input in and every effect out (see its doc for
//! how to drive it). One task per call is its driver (`run`): it owns
//! everything the call uses, `select!`s over the registry's commands (DTMF
//! and hangups from ARI, API requests), the media leg's events, the STT
//! session, the TTS session, the agent's streamed reply and the core's next
//! deadline, reads the clock once per wake-up, and executes the core's
//! effects (`drive`). Nothing else touches the call's state, so there are
//! no locks. The call's writes (its record, its events, its history) run
//! beside the loop, in order (`effects`), so a slow store or publisher never
//! holds up the call's audio. Setup (`setup`: answer, bridge,
//! externalMedia) and a DID with no route (`unrouted`) are the driver's
//! too: they are a sequence of Asterisk requests before the conversation.
//!
//! The call ends exactly once: the core's last effect releases every
//! resource, publishes `call.ended` with the call's figures and hands the
//! driver what it reports to the registry. The call's admission permit is
//! dropped with the task, so a drain counts it until then; only a call
//! handed to a person gives it back earlier, at the handover.

mod agent;
mod config;
mod drive;
mod effects;
mod latency;
mod machine;
mod media_channel;
pub(crate) mod providers;
mod record;
mod resume;
pub use resume::Takeover;
mod resources;
pub(crate) use resources::ignore_gone;
mod run;
mod screen;
mod setup;
mod trace;
mod unrouted;

pub use config::{BargeInMode, DEFAULT_BACKCHANNELS, Prompt, SessionConfig};
pub use latency::TurnLatency;
pub use record::summary;

use crate::{
    application::{
        admission::CallPermit,
        ports::{
            calls::TransferMode, directory::TenantDirectory, events::EventPublisher,
            history::CallHistory, media::MediaEndpoint, orchestrator::AgentOrchestrator,
            speech::SpeechCatalog, speech::SpeechToText, speech::TextToSpeech, store::CallStore,
            telephony::Telephony, traces::CallTraces,
        },
    },
    domain::{CallId, Did, DtmfDigits, SayText, TransferTarget, call::EndReason},
};
use ari::{ChannelId, events::DialStatus};
use std::sync::Arc;
use tokio::sync::mpsc;
use tracing::Instrument;

/// The ports a session uses, shared by all calls.
#[derive(Clone)]
pub struct SessionDeps {
    /// Call control.
    pub telephony: Arc<dyn Telephony>,
    /// Audio legs.
    pub media: Arc<dyn MediaEndpoint>,
    /// DID → tenant, agent.
    pub directory: Arc<dyn TenantDirectory>,
    /// The agent.
    pub orchestrator: Arc<dyn AgentOrchestrator>,
    /// Speech recognition: the instance default.
    pub stt: Arc<dyn SpeechToText>,
    /// Speech synthesis: the instance default.
    pub tts: Arc<dyn TextToSpeech>,
    /// The providers routes may choose by name; `None`: every call uses
    /// `stt` and `tts`, whatever its route names.
    pub speech: Option<Arc<dyn SpeechCatalog>>,
    /// Call events.
    pub events: Arc<dyn EventPublisher>,
    /// Call records for the API.
    pub store: Arc<dyn CallStore>,
    /// Where each ended call's record is kept.
    pub history: Arc<dyn CallHistory>,
    /// Behaviour.
    pub config: Arc<SessionConfig>,
    /// Where each call's trace goes ([`NoTraces`](crate::application::ports::traces::NoTraces): off).
    pub traces: Arc<dyn CallTraces>,
}

impl std::fmt::Debug for SessionDeps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionDeps")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// What the registry (or the API) tells a running session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionCommand {
    /// A DTMF digit from ARI's `ChannelDtmfReceived`.
    Dtmf(char),
    /// The caller's channel left Stasis or was destroyed.
    CallerGone,
    /// After a reconnect, Asterisk no longer has the caller's channel.
    ChannelLost,
    /// End the call (API or shutdown).
    Hangup(EndReason),
    /// Speak this now (API `say`).
    Say(SayText),
    /// Transfer the caller (API). Blind: the target's text is entered in the
    /// transfer context. Attended: a number is dialled through the outbound
    /// template, anything else must be a configured transfer endpoint.
    Transfer {
        /// Where to.
        target: TransferTarget,
        /// Blind or attended.
        mode: TransferMode,
    },
    /// Send DTMF digits to the far end (API).
    SendDtmf(DtmfDigits),
    /// Something happened to the person's leg of an attended transfer.
    TransferLeg(TransferLegEvent),
    /// A playback on the caller's channel finished (the unknown-DID message).
    PlaybackFinished,
    /// The call's externalMedia channel entered Stasis: it can be bridged now.
    MediaChannelReady,
    /// Another instance holds the Asterisk's lease now and takes the call
    /// over (`[ha]`): stop at once, leaving everything on Asterisk, with no
    /// event and no hangup (the driver's, never the core's).
    Abandon,
    /// The orchestrator said which agent has the conversation (the
    /// session's own lookup, beside the loop; never from the API).
    AgentIdentified(crate::application::ports::orchestrator::AgentInfo),
}

/// The events of an attended transfer's leg (`vg-h-{call id}`) a session needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferLegEvent {
    /// A `Dial` status of the leg.
    Dial(DialStatus),
    /// The person answered: the leg entered Stasis.
    Answered,
    /// The leg is gone, with its hangup cause.
    Gone {
        /// Q.850 cause of its `ChannelDestroyed`.
        cause: i32,
    },
}

/// A running session, as the registry holds it.
#[derive(Debug, Clone)]
pub struct SessionHandle {
    /// The call.
    pub call_id: CallId,
    /// Commands to the session; closed once it has ended.
    pub commands: mpsc::Sender<SessionCommand>,
}

/// Sent to the registry when a session has finished and released everything.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionEnded {
    /// The caller's channel (the registry's key).
    pub caller: ChannelId,
    /// The call.
    pub call_id: CallId,
    /// Why it ended.
    pub reason: EndReason,
    /// Latency figures of each turn that produced audio.
    pub latencies: Vec<TurnLatency>,
    /// Each barge-in's delay from speech onset to the last packet sent, in ms.
    pub barge_in_delays_ms: Vec<f64>,
    /// Barge-in holds that resumed the agent: noise, backchannel, echo.
    pub barge_ins_resumed: [u32; 3],
}

/// A call's far party as it entered Stasis: the caller of an inbound call, or
/// the answered callee of an outbound one (then `outbound` says so).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundCall {
    /// The caller's channel.
    pub caller: ChannelId,
    /// Its name (`PJSIP/trunk-000001`): tells a SIP channel from others.
    pub channel_name: String,
    /// The dialled number.
    pub did: Did,
    /// The caller's number as Asterisk reports it (not validated: display only).
    pub caller_number: String,
    /// Set for an answered outbound call: the router has placed and answered it.
    pub outbound: Option<OutboundStart>,
}

/// What an answered outbound call brings into its session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundStart {
    /// The call id chosen at originate.
    pub call_id: CallId,
    /// Tenant and agent from the API request.
    pub route: crate::application::ports::directory::Route,
    /// The call's lifecycle so far (answered).
    pub call: crate::domain::call::Call,
    /// The API client's metadata.
    pub metadata: std::collections::BTreeMap<String, String>,
    /// Screen the callee for an answering machine first, and what a machine gets.
    pub detect_machine: Option<crate::domain::screening::OnMachine>,
    /// How many of the call's events the router published (numbered 1 to
    /// this): the session's go on after them.
    pub published: u64,
}

/// A stable label for metrics and events (an error's text goes in `detail`).
pub fn reason_label(reason: &EndReason) -> String {
    reason.label()
}

/// Starts the session of an inbound call.
pub fn spawn_inbound(
    deps: SessionDeps,
    call: InboundCall,
    permit: CallPermit,
    ended: mpsc::UnboundedSender<SessionEnded>,
) -> SessionHandle {
    spawn(deps, call, None, permit, ended)
}

/// Starts the session of a call taken over from another instance (`[ha]`):
/// `call` is its caller as the record names it, `call.outbound` `None`.
pub fn spawn_taken_over(
    deps: SessionDeps,
    call: InboundCall,
    from: Takeover,
    permit: CallPermit,
    ended: mpsc::UnboundedSender<SessionEnded>,
) -> SessionHandle {
    spawn(deps, call, Some(from), permit, ended)
}

fn spawn(
    deps: SessionDeps,
    call: InboundCall,
    takeover: Option<Takeover>,
    permit: CallPermit,
    ended: mpsc::UnboundedSender<SessionEnded>,
) -> SessionHandle {
    let call_id = match (&call.outbound, &takeover) {
        (Some(o), _) => o.call_id.clone(),
        (None, Some(t)) => t.record.call_id.clone(),
        (None, None) => {
            CallId::parse(uuid::Uuid::new_v4().to_string()).expect("a UUID is a valid call id")
        }
    };
    let (tx, rx) = mpsc::channel(64);
    // `call.id` and `tenant.id` are the trace's attributes (OpenTelemetry
    // naming); `call_id` is what the logs have always carried.
    let span = tracing::info_span!(
        "call",
        call_id = %call_id,
        channel = %call.caller,
        "call.id" = %call_id,
        "tenant.id" = tracing::field::Empty,
        trace_id = tracing::field::Empty,
    );
    let mut session = run::Session::new(deps, call_id.clone(), call.clone(), rx);
    session.permit = Some(permit);
    session.takeover = takeover;
    session.own_commands = Some(tx.downgrade());
    session.trace(span.clone());
    tokio::spawn(
        async move {
            // The permit, if still held, is dropped with the session.
            let result = session.run().await;
            let _ = ended.send(result);
        }
        .instrument(span),
    );
    SessionHandle {
        call_id,
        commands: tx,
    }
}
