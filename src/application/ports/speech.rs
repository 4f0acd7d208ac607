//! The speech ports: streaming speech-to-text ([`SpeechToText`]) and
//! text-to-speech ([`TextToSpeech`]) behind one shape, so the per-call task
//! treats every provider (Wyoming, cloud WebSockets, the in-process fakes) alike.
//!
//! # Shape
//! `open` is the only async method (it connects and sends the provider its
//! configuration). It returns a session: a plain struct around two bounded
//! `tokio::sync::mpsc` channels, one toward the provider (audio or text) and
//! one back (events). Adapters build it with [`SttSession::channel`] /
//! [`TtsSession::channel`] and keep the provider end in their own task.
//! Everything the call task does on a session is synchronous except `recv`,
//! which is `mpsc::Receiver::recv` plus bookkeeping after it completes, so it
//! is cancel-safe in `tokio::select!`.
//!
//! # How the per-call task drives it
//! One task per call `select!`s over the media socket, timers, commands,
//! `stt.recv()` and `tts.recv()` (guard each branch with `is_active()`: an
//! ended session answers `None` at once).
//! - **Listening**: every decoded, resampled frame goes to
//!   [`SttSession::push_audio`], which never waits. If the provider falls behind
//!   real time the queue (one second by default) fills, the frame is dropped,
//!   counted in [`SttTiming::dropped_frames`], and `push_audio` answers
//!   [`SttError::Overrun`]: the task treats a run of these like a provider error
//!   (retry, then fall back), because a transcript with holes is worse.
//!   `Interim` events feed barge-in and the "caller is talking" state; at end of
//!   turn (VAD end of speech + endpointing silence, or the provider's own
//!   `Final`) call [`SttSession::finish`] and wait for the `Final` it answers,
//!   with a timeout. A session may carry several utterances.
//! - **Speaking**: open a [`TtsSession`] on the reply's first sentence, hand
//!   each further sentence to [`TtsSession::send_text`], call
//!   [`TtsSession::finish`] after the last; play each [`TtsChunk`] through the
//!   resampler and pacer until [`TtsEvent::Done`]. Arm the first-byte timeout
//!   (5 s) from [`TtsTiming::first_text_at`]; on expiry or [`TtsEvent::Error`],
//!   cancel and switch provider.
//! - **Barge-in**: flush the pacer and call [`TtsSession::cancel`]. It is
//!   synchronous: when it returns, buffered chunks are discarded and `recv`
//!   yields nothing more; the provider sees its event channel closed and stops.
//!   [`TtsChunk::piece`] tells which sentence the audio sent so far belongs
//!   to, for `heard_text`.
//! - **Hangup**: `cancel` (or drop) both sessions; dropping is a cancel.
//!
//! Both sessions record when results came: [`SttSession::timing`] and
//! [`TtsSession::timing`], measured where the call task sees them.

mod catalog;
mod stt;
mod tts;

pub use super::orchestrator::BoxFuture;
pub use catalog::{CatalogError, Chosen, SpeechCatalog, SpeechChoice};
pub use stt::{
    SpeechToText, SttAudio, SttConfig, SttError, SttEvent, SttInput, SttProviderEnd, SttSampleRate,
    SttSession, SttTiming,
};
pub use tts::{
    TextToSpeech, TtsAudio, TtsChunk, TtsConfig, TtsError, TtsEvent, TtsInput, TtsOutput,
    TtsProviderEnd, TtsSession, TtsTiming,
};

#[cfg(test)]
mod tests;
