//! Call events to Kafka: the JSON Schemas, and the spool-backed publisher
//! against a real Kafka-protocol broker (`tansu`, started per test by
//! `vg_testkit::KafkaBroker` on a free port, random topic names).

mod common;
mod delivery;
#[path = "../common/kafka.rs"]
mod kafka;
mod outage;
mod schemas;
mod spool;
