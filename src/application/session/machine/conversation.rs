//! What the conversation is doing, each state with only the data it needs.

use super::Input;
use crate::{
    application::{dial::Unanswered, sentences::SentenceSplitter},
    domain::{TransferTarget, call::EndReason},
};
use ari::events::DialStatus;
use std::time::{Duration, Instant};

/// The one state of the conversation. The call's lifecycle (`domain::call`)
/// says which events a change stands for; this says what the gateway is
/// doing about it.
#[derive(Debug, Default)]
pub(crate) enum Conversation {
    /// The driver is answering and bridging: nothing to hear or say yet.
    /// Also where a state taken apart during one input stands until that
    /// input gives the next (a speech done, then listening).
    #[default]
    Setup,
    /// Hearing the caller.
    Listening(Listening),
    /// The agent (or fixed text: a greeting, a reprompt) is being thought
    /// of or spoken.
    Responding(Speech),
    /// The caller spoke over the agent: the leg is flushing, and the
    /// barge-in is complete when it reports what the caller heard.
    BargingIn(BargingIn),
    /// Blind transfer: the caller is being sent into the dialplan.
    Transferring { target: TransferTarget },
    /// Attended transfer: the person's phone rings while the agent may
    /// finish what it says.
    Attended(Attended),
    /// Caller and person are connected; the call only keeps their bridge.
    Bridged,
    /// Over: nothing more is done.
    Ended,
}

/// What the caller said so far this turn.
#[derive(Debug, Default)]
pub(crate) struct Listening {
    pub(crate) transcript: String,
    pub(crate) confidence: Option<f32>,
    /// The recogniser was asked to finish at a pause and the caller has not
    /// spoken since: the turn's end needs no other `finish`.
    pub(crate) finished_early: bool,
    /// Finals asked for (`FinishStt`) and not yet in.
    pub(crate) finals_owed: u32,
    /// The transcript so far trails off: wait longer before ending the turn.
    pub(crate) trailing: bool,
    /// The turn as heard so far, already sent to the agent while the turn's
    /// end is awaited; its reply is held until then.
    pub(crate) speculation: Option<Speculation>,
}

/// A turn sent to the agent before the caller is known to be done.
#[derive(Debug)]
pub(crate) struct Speculation {
    /// The transcript the turn carried.
    pub(crate) text: String,
    /// The reply so far, in order, held back until the turn is over.
    pub(crate) held: Vec<Input>,
}

/// What to do when the agent's current speech has been played out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AfterSpeech {
    Listen,
    Hangup(EndReason),
    Transfer(TransferTarget),
}

/// One speech: the text (streamed by the agent, or fixed), its synthesis
/// and the audio it produced.
#[derive(Debug)]
pub(crate) struct Speech {
    /// The agent's reply while it streams: its text not yet cut into
    /// sentences. `None` once the text is complete.
    pub(crate) reply: Option<SentenceSplitter>,
    pub(crate) tts: Tts,
    pub(crate) pieces: Vec<Piece>,
    pub(crate) after: AfterSpeech,
}

impl Speech {
    pub(crate) fn new(reply: Option<SentenceSplitter>, after: AfterSpeech) -> Self {
        Self {
            reply,
            tts: Tts::Closed,
            pieces: Vec::new(),
            after,
        }
    }

    /// Nothing of it reached the caller's ear yet.
    pub(crate) fn silent(&self) -> bool {
        self.pieces.iter().all(|p| p.audio.is_zero())
    }

    pub(crate) fn text(&self) -> String {
        let text: Vec<&str> = self.pieces.iter().map(|p| p.text.as_str()).collect();
        text.join(" ")
    }

    pub(crate) fn audio(&self) -> Duration {
        self.pieces.iter().map(|p| p.audio).sum()
    }
}

/// The synthesis of one speech.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Tts {
    /// Nothing to say yet.
    Closed,
    /// Opening; the sentences wait, and `finish` says the text is complete.
    Opening { queue: Vec<String>, finish: bool },
    /// Taking text; `next` is the next piece's index.
    Open { next: u32, finished: bool },
    /// Spoke everything; the leg plays the rest.
    Done,
    /// Every provider failed this speech: its rest is not attempted.
    Failed,
}

impl Tts {
    /// The driver holds a synthesis for it (opening or open); done and
    /// failed ones were closed as they became so.
    pub(crate) fn live(&self) -> bool {
        matches!(self, Tts::Opening { .. } | Tts::Open { .. })
    }

    /// No more audio will come from it.
    pub(crate) fn over(&self) -> bool {
        matches!(self, Tts::Done | Tts::Failed)
    }
}

/// One text piece sent to the synthesis and the audio it produced so far.
#[derive(Debug, Clone)]
pub(crate) struct Piece {
    pub(crate) id: u32,
    pub(crate) text: String,
    pub(crate) audio: Duration,
}

/// A barge-in waiting for the leg's flush report.
#[derive(Debug)]
pub(crate) struct BargingIn {
    pub(crate) onset: Instant,
    /// What was being said: the report tells how much of it was heard.
    pub(crate) pieces: Vec<Piece>,
    /// What a hold learnt before it decided on speech, for the turn after.
    pub(crate) from_hold: Option<HoldOutcome>,
}

/// A barge-in hold: the agent's audio is paused while the caller's sound is
/// judged (noise, backchannel, echo, or speech).
#[derive(Debug, Clone)]
pub(crate) struct Hold {
    pub(crate) onset: Instant,
    /// When the sound stopped (the VAD's pause or end), while it has.
    pub(crate) sound_end: Option<Instant>,
    /// The VAD reported the end of the sound, not only a pause.
    pub(crate) sound_over: bool,
    /// The recogniser was asked for the sound's transcript.
    pub(crate) asked: bool,
    /// When the agent's audio was last paused for this hold.
    pub(crate) paused_at: Instant,
    /// The sound ended short of speech and the agent plays again while its
    /// transcript is awaited (`barge_in_resume_early`).
    pub(crate) playing: bool,
}

/// What a hold that ended in a barge-in hands to the caller's turn.
#[derive(Debug, Clone, Default)]
pub(crate) struct HoldOutcome {
    /// The transcript of the sound, if it came.
    pub(crate) text: Option<String>,
    /// Its final was asked for and is still owed.
    pub(crate) final_owed: bool,
    /// The sound has ended: no end of speech will come for it.
    pub(crate) sound_over: bool,
    /// The caller was quiet when the hold decided (not talking again since
    /// the pause its transcript was asked at).
    pub(crate) quiet: bool,
}

/// An attended transfer in progress.
#[derive(Debug)]
pub(crate) struct Attended {
    pub(crate) target: TransferTarget,
    pub(crate) last_status: Option<DialStatus>,
    pub(crate) answered: bool,
    /// The leg will not be answered; applied once the agent is silent.
    pub(crate) failed: Option<(Unanswered, Option<String>)>,
    /// What the agent is still saying; the handover waits for its end.
    pub(crate) speech: Option<Speech>,
    /// The person's leg is being added to the bridge.
    pub(crate) joining: bool,
}
