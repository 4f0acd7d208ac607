//! The fault-injection suite (issue 17): each scenario runs calls under one
//! fault and checks that nothing was lost — every expected event delivered
//! (duplicates counted, as Kafka's at-least-once allows) and every call ended
//! with a `call.ended`.
//!
//! In `make test` each scenario runs small; `make bench-faults` runs them at
//! full size (`VG_FAULTS=full`: 100+ concurrent calls against the simulator)
//! and gathers their outcomes into `bench/results/<date>-faults.{json,md}`
//! (see `vg_testkit::faults`). The scenarios that involve Asterisk also run on
//! the real Asterisk, in `tests/asterisk/faults.rs`.
//!
//! - `data`: the data path (Kafka stopped, the gateway killed with a full
//!   spool, a corrupt spool record, a full disk, Redis and PostgreSQL restarted).
//! - `calls`: the call path (the events socket cut, Asterisk restarted, the
//!   orchestrator failing or hanging, STT and TTS failing, the app taken over).

// Tests read the clock to make their inputs and to measure.
#![allow(clippy::disallowed_methods)]

mod calls;
mod data;
#[path = "../common/metrics.rs"]
mod metrics;
#[path = "../common/process.rs"]
mod process;
mod rig;
