//! Call events to Kafka: the JSON Schemas, and the spool-backed publisher
//! against a real Kafka-protocol broker (`tansu`, started per test by
//! `vg_testkit::KafkaBroker` on a free port, random topic names).

// Tests read the clock to make their inputs and to measure.
#![allow(clippy::disallowed_methods)]

mod common;
mod delivery;
#[path = "../common/kafka.rs"]
mod kafka;
mod outage;
mod schemas;
mod spool;
