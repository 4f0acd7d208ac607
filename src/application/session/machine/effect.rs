//! What the core asks the driver to do, in order.

use super::super::TurnLatency;
use crate::{
    application::ports::{
        calls::CallSummary, events::CallEvent, history::CallRecord, media::AudioChunk,
        orchestrator::Turn, telephony::OriginateRequest,
    },
    domain::{TransferTarget, call::EndReason},
};

/// One thing to do. Those that have a result the core needs say which
/// [`Input`](super::Input) carries it back.
#[derive(Debug)]
pub(crate) enum Effect {
    /// Agent audio for the leg, in the current flush generation.
    Play(AudioChunk),
    /// Barge-in: drop every agent sample not yet on the wire, in a new
    /// generation. Answered by `Input::Flushed`.
    Flush,
    /// Barge-in hold: stop sending agent audio, keeping its place.
    PausePlayout,
    /// The hold was noise, a backchannel or echo: go on where it stopped.
    ResumePlayout,
    /// Open the recogniser. Answered by `SttOpened` or `SttOpenFailed`.
    OpenStt,
    /// Ask the recogniser for its final; `SttFinishFailed` when it cannot.
    FinishStt,
    /// Cancel and drop the recogniser.
    CloseStt,
    /// Open a synthesis in `language`. Answered by `TtsOpened` or `TtsFailed`.
    OpenTts { language: String },
    /// Queue text on the synthesis (pieces count from 0 per synthesis);
    /// `TtsFailed` when it is refused.
    SpeakText(String),
    /// No more text for this synthesis.
    FinishTts,
    /// Cancel and drop the synthesis.
    CloseTts,
    /// Send the caller's turn to the agent; its reply comes as `Reply*`.
    SendTurn(Turn),
    /// Stop reading the agent's reply.
    DropReply,
    /// Tell the orchestrator the API transferred the call (logged on failure).
    TellTransfer(TransferTarget),
    /// Play DTMF toward the caller's side (logged on failure).
    SendDtmf(String),
    /// Blind transfer: `continue` the caller into the transfer context.
    /// Answered by `Continued`.
    Continue(TransferTarget),
    /// Ring the person of an attended transfer (the driver holds the
    /// channel as the call's). `OriginateFailed` when refused.
    Originate(OriginateRequest),
    /// Hang up the person's leg, if it is still held.
    HangUpPerson,
    /// Add the person's leg to the call's bridge. Answered by `PersonJoined`.
    JoinPerson,
    /// The AI leaves the call: close the leg, hang up the media channel.
    LeaveMedia,
    /// Let go of the caller's channel without hanging it up (it is gone or
    /// Asterisk's).
    ForgetCaller,
    /// Let go of the person's channel (it is gone).
    ForgetPerson,
    /// Let go of caller, person and bridge: they outlive the gateway.
    LeaveBridged,
    /// Give back the call's admission slot once the writes before it are done.
    HandedOver,
    /// Store the call's record (beside the loop).
    Save(CallSummary),
    /// Publish an event (beside the loop).
    Publish(CallEvent),
    /// Write the ended call's history (beside the loop).
    WriteHistory(CallRecord),
    /// Release everything the call still holds, hanging the caller up or not.
    Release { hang_up_caller: bool },
    /// The last effect: the call is over.
    End(Ended),
}

/// The figures of an ended call.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Ended {
    pub(crate) reason: EndReason,
    pub(crate) latencies: Vec<TurnLatency>,
    pub(crate) barge_in_delays_ms: Vec<f64>,
    /// Barge-in holds that resumed the agent, by reason.
    pub(crate) barge_ins_resumed: super::Resumed,
}
