//! What the driver feeds the core: the time, and each thing that happened.

use super::super::SessionCommand;
use crate::{
    application::ports::{media::FlushReport, orchestrator::Action, speech::TtsChunk},
    domain::call::EndReason,
};
use std::time::{Instant, SystemTime};

/// The time of one wake-up, read once by the driver: the monotonic clock
/// for deadlines and latencies, the wall clock for records and events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Now {
    pub(crate) at: Instant,
    pub(crate) wall: SystemTime,
}

/// One thing that happened to the call. Caller audio frames are not inputs:
/// the driver hands them to the recogniser itself, so the per-frame path
/// stays a channel send.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // one per wake; boxing would allocate per TTS chunk
pub(crate) enum Input {
    /// The leg's VAD heard the caller start (`at` is the onset); `echo`:
    /// the sound matches the agent audio the leg just sent.
    SpeechStarted { at: Instant, echo: bool },
    /// The leg's VAD heard the caller pause (`at`: end of the last speech).
    SpeechPaused { at: Instant },
    /// The leg's VAD heard the caller stop.
    SpeechEnded { at: Instant },
    /// The leg has sent every agent sample it was given.
    PlaybackDrained,
    /// The leg sent the first packet of the agent audio it was given.
    FirstPacketSent { at: Instant },
    /// A digit, in band (the leg) or from ARI.
    Dtmf(char),
    /// The leg's answer to [`Effect::Flush`](super::Effect::Flush); `None`
    /// from a leg that is gone.
    Flushed(Option<FlushReport>),
    /// The leg's events ended: it is gone.
    MediaGone,
    /// A partial transcript of `words` words.
    SttInterim { words: usize },
    /// A final transcript.
    SttFinal {
        text: String,
        confidence: Option<f32>,
    },
    /// The recogniser failed (or closed).
    SttFailed(String),
    /// [`Effect::OpenStt`](super::Effect::OpenStt) succeeded.
    SttOpened,
    /// [`Effect::OpenStt`](super::Effect::OpenStt) failed.
    SttOpenFailed(String),
    /// [`Effect::FinishStt`](super::Effect::FinishStt) could not be sent: no
    /// final will come.
    SttFinishFailed,
    /// Text of the agent's reply.
    ReplyText(String),
    /// An action of the agent's reply.
    ReplyAction(Action),
    /// The reply is complete.
    ReplyDone,
    /// The reply failed.
    ReplyFailed { error: String, timeout: bool },
    /// [`Effect::OpenTts`](super::Effect::OpenTts) succeeded.
    TtsOpened,
    /// Synthesised audio.
    TtsAudio(TtsChunk),
    /// The synthesis has spoken everything.
    TtsDone,
    /// The synthesis failed (every provider), or its text was refused.
    TtsFailed(String),
    /// From the registry or the API.
    Command(SessionCommand),
    /// Every command sender is gone.
    CommandsGone,
    /// The result of [`Effect::Continue`](super::Effect::Continue).
    Continued(Result<(), String>),
    /// [`Effect::Originate`](super::Effect::Originate) was refused.
    OriginateFailed(String),
    /// The result of [`Effect::JoinPerson`](super::Effect::JoinPerson).
    PersonJoined(Result<(), String>),
    /// The driver ends the call (a setup step failed, an unrouted DID).
    End {
        reason: EndReason,
        hang_up_caller: bool,
    },
}
