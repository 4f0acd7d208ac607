//! The attack suite (issue 16): one test per attack, each named for it, each
//! rejected by a protection whose removal makes the test fail.
//!
//! - `rtp`: spoofed RTP toward a media leg's port (real UDP on loopback);
//! - `jwt`: forged, expired and misdirected bearer tokens, and a storm of
//!   unknown key ids against the JWKS cache;
//! - `tls`: clear text where TLS is required, against real redis-server,
//!   PostgreSQL and a Kafka-protocol broker on loopback.
//!
//! The attacks that need a running gateway are in `tests/gateway/attacks.rs`
//! and `tests/gateway/api_attacks.rs` (toll fraud, injection, bodies, tenant
//! isolation, secure DTMF); those that need the real Asterisk in
//! `tests/asterisk/attacks.rs` (an inbound flood past the cap, a card typed on
//! the keypad).

// Tests read the clock to make their inputs and to measure.
#![allow(clippy::disallowed_methods)]

mod jwt;
mod rtp;
mod tls;
#[path = "../common/tls.rs"]
mod tls_kit;
