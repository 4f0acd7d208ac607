//! Sans-IO media core of voice-gateway.
//!
//! This crate opens no socket, spawns no task and never reads the clock: time
//! (`std::time::Instant`) and bytes come in as arguments; frames, packets, events
//! and the next deadline come out. The per-call task in the gateway owns one
//! inbound and one outbound pipeline and drives them from its `select!` loop.

// Unit tests read the clock to make their inputs; the library does not.
#![cfg_attr(test, allow(clippy::disallowed_methods))]
#![warn(missing_docs)]

pub mod audiosocket;
pub mod codec;
pub mod dtmf;
pub mod echo;
pub mod jitter;
pub mod level;
pub mod media_websocket;
pub mod pacer;
pub mod pipeline;
pub mod resample;
pub mod rtp;
pub mod tone;
pub mod vad;
pub mod wav;
