//! The local speech engines of the embedded default, for real: the
//! `wyoming-faster-whisper` and `wyoming-piper` servers started by the test
//! harness (`vg_testkit::WyomingServers`, like Redis), driven through the
//! gateway's Wyoming adapters, and a whole call through the simulator.

// Tests read the clock to make their inputs and to measure.
#![allow(clippy::disallowed_methods)]

mod azure_bench;
mod bench;
mod bench_google;
mod call;
mod engines;
#[path = "../common/google_fake.rs"]
mod google_fake;
mod openai_bench;
#[path = "../common/openai_fake.rs"]
mod openai_fake;
mod support;
