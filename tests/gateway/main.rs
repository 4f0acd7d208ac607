//! Integration tests of the gateway, compiled into one binary.

mod against_sim;
mod api;
mod api_attacks;
mod attacks;
mod barge_in;
mod binary;
mod conversation;
mod engines;
mod failures;
mod harness;
mod lifecycle;
#[path = "../common/metrics.rs"]
mod metrics;
mod outbound;
#[path = "../common/process.rs"]
mod process;
mod rig;
mod speech_choice;
mod stub;
mod support;
mod transfers;
