//! The media endpoint over UDP: one RTP socket and one task per call leg.
//!
//! [`UdpMediaEndpoint::open`](crate::application::ports::media::MediaEndpoint::open)
//! leases a random free port of the configured range, binds it and spawns the leg's
//! task. The task owns the socket and the call's sans-IO pipelines
//! (`vg_media::pipeline`) and `select!`s over control commands, agent audio,
//! datagrams and the pipelines' next deadline; it reads the clock once per
//! wake-up.
//!
//! - Inbound: datagrams from the peer only (see [`peer`]: set by `SetPeer`,
//!   else, after `Latch`, the first RTP packet from the Asterisk host within
//!   a second; nothing before either) → jitter buffer, decode,
//!   resample to the STT rate, VAD → `Audio`, `SpeechStarted/Ended`, `Dtmf`.
//! - Outbound: agent audio (`AudioChunk::Pcm`) → resample, encode, pace → one
//!   packet per 20 ms to the peer. The audio channel is read only while the
//!   pacer holds less than `play_lead`, so a fast TTS waits upstream instead
//!   of losing audio. `Flush` drops the queue, the chunk part-queued and any
//!   audio of an older generation still in the channel, at once;
//!   `PlaybackDrained` after `EndOfSpeech` once the last packet is out.
//! - The task ends on `Close`, on the senders or the event receiver
//!   being dropped; its socket closes and its port goes back to the pool once.
//!
//! No per-packet heap allocation: receive and transmit buffers are allocated
//! once per leg, audio frames travel by value.

mod config;
mod emit;
mod endpoint;
mod leg;
mod metrics;
mod peer;
mod pool;
mod setup;
#[cfg(test)]
mod tests;

pub use config::{PortRange, UdpMediaConfig, VadChoice};
pub use endpoint::UdpMediaEndpoint;
pub use metrics::MediaMetrics;
