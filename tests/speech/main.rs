//! The local speech engines of the embedded default, for real: the
//! `wyoming-faster-whisper` and `wyoming-piper` servers started by the test
//! harness (`vg_testkit::WyomingServers`, like Redis), driven through the
//! gateway's Wyoming adapters, and a whole call through the simulator.

mod bench;
mod call;
mod engines;
mod support;
