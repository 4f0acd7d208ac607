//! The per-call session end to end with in-process fakes for Asterisk's call
//! control and the media leg, the fake speech providers and the built-in
//! agent, on tokio's paused clock: every run is the same run.

// Tests read the clock to make their inputs and to measure.
#![allow(clippy::disallowed_methods)]

mod backpressure;
mod fakes;
mod harness;
mod keys;
mod prompt;
mod slow_writes;
mod speech;
mod transfers;
mod turns;
