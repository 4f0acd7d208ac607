//! Every call flow against a real Asterisk 20.20.1 and the gateway's own
//! binary (issue 13): Asterisk from `vg_testkit::AsteriskServer` (built once
//! from `../shared/asterisk`), callers that are Local channels playing WAV
//! files and recording what they hear, a SIP phone, and assertions from those
//! recordings, the gateway's events and log, and Asterisk's own state.
//!
//! Each test starts its own Asterisk and gateway; they run one at a time
//! (real-time audio on a two-core machine), see [`rig::Rig`].

// Tests read the clock to make their inputs and to measure.
#![allow(clippy::disallowed_methods)]

#[path = "../common/process.rs"]
mod process;

mod ami;
mod attacks;
mod audio;
mod aws;
#[path = "../common/aws_fake.rs"]
mod aws_fake;
mod azure;
mod calls;
mod faults;
mod fidelity;
mod gateway;
mod google;
#[path = "../common/google_fake.rs"]
mod google_fake;
mod ha;
mod ha_takeover;
mod ha_transfer;
mod hold;
mod openai;
#[path = "../common/openai_fake.rs"]
mod openai_fake;
mod outbound;
mod proxy;
mod rig;
mod sip;
mod speech;
mod tenant_manager;
#[path = "../common/tenant_manager_fake.rs"]
mod tenant_manager_fake;
mod traces;
#[path = "../common/traces.rs"]
mod traces_common;
mod transfers;
mod transports;
