//! The media endpoint: one task per call leg, over UnicastRTP (a UDP socket
//! per leg) or AudioSocket (one TCP listener, a connection per leg).
//!
//! [`UdpMediaEndpoint::open`](crate::application::ports::media::MediaEndpoint::open)
//! builds the leg's pipelines for its transport and format, makes its
//! [`wire`] (a random free UDP port of the range, or a UUID registered with the AudioSocket
//! listener) and spawns the leg's task. The task ([`leg`]) is the same for
//! every transport: it owns the wire and the call's sans-IO pipelines
//! (`vg_media::pipeline`) and `select!`s over control commands, agent audio,
//! the wire's input and the pipelines' next deadline; it reads the clock once
//! per wake-up. The session sees only the port's channels, and the
//! `AudioTransport` it passes to externalMedia.
//!
//! - Inbound: RTP from the peer only (see [`peer`]: set by `SetPeer`, else,
//!   after `Latch`, the first RTP packet from the Asterisk host within a
//!   second; nothing before either) → jitter buffer, decode; or AudioSocket
//!   messages of a connection whose UUID matched → 20 ms frames; then
//!   resample to the STT rate (none for slin16 at 16 kHz), VAD → `Audio`,
//!   `SpeechStarted/Ended`, `Dtmf`.
//! - Outbound: agent audio (`AudioChunk::Pcm`) → resample, encode, pace → one
//!   RTP packet or AudioSocket message per 20 ms. RTP packets go out from the
//!   endpoint's pacing thread ([`pace`]) at their slots, whatever the
//!   runtime's workers are busy with; AudioSocket and WebSocket frames from
//!   the leg's task. The audio channel is read
//!   only while the pacer holds less than `play_lead` (and, for AudioSocket,
//!   once Asterisk connected), so a fast TTS waits upstream instead of losing
//!   audio. `Flush` drops the queue, the chunk part-queued and any audio of
//!   an older generation still in the channel, at once; `PlaybackDrained`
//!   after `EndOfSpeech` once the last frame is out.
//! - The task ends on `Close`, on the senders or the event receiver
//!   being dropped; its socket closes and its port (or UUID) is released once.
//!
//! No per-packet heap allocation: receive and transmit buffers are allocated
//! once per leg, audio frames travel by value.

mod audiosocket;
mod config;
mod emit;
mod endpoint;
mod gate;
mod leg;
mod metrics;
mod pace;
mod peer;
mod pool;
mod setup;
#[cfg(test)]
mod tests;
mod udp;
mod websocket;
mod wire;

pub use audiosocket::AudioSocketListener;
pub use config::{PortRange, UdpMediaConfig, VAD_ONSET, VadChoice, vad_timing};
pub use endpoint::UdpMediaEndpoint;
pub use metrics::MediaMetrics;
pub use pace::REALTIME_PRIORITY;
