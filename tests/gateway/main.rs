//! Integration tests of the gateway, compiled into one binary.

// Tests read the clock to make their inputs and to measure.
#![allow(clippy::disallowed_methods)]

mod against_sim;
mod agent_lookup;
mod api;
mod api_attacks;
mod attacks;
#[path = "../common/aws_fake.rs"]
mod aws_fake;
mod aws_imds;
mod aws_sim;
mod azure;
mod barge_in;
mod binary;
mod browser;
mod console;
mod console_history;
mod conversation;
mod engines;
mod failures;
mod google;
#[path = "../common/google_fake.rs"]
mod google_fake;
mod ha;
mod harness;
mod lifecycle;
#[path = "../common/metrics.rs"]
mod metrics;
#[path = "../common/openai_fake.rs"]
mod openai_fake;
mod openai_stt;
mod outbound;
#[path = "../common/process.rs"]
mod process;
mod rig;
mod speech_choice;
mod stub;
mod support;
mod tenant_manager;
#[path = "../common/tenant_manager_fake.rs"]
mod tenant_manager_fake;
mod transfers;
