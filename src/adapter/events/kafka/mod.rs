//! Call events to Kafka without loss.
//!
//! [`KafkaPublisher::publish`] appends the event's CloudEvents envelope to an
//! on-disk [`Spool`](super::spool::Spool); one task reads the spool in order,
//! sends each record with the call id as key (so a call's events share a
//! partition and keep their order) through an idempotent `acks=all` producer,
//! and commits the spool as the broker acknowledges. While the broker is away
//! events accumulate on disk and are sent, in order, when it returns; a gateway
//! crash loses nothing that `publish` accepted, at the price of re-sending what
//! was acknowledged but not yet committed (consumers de-duplicate by event id).

mod config;
mod context;
mod driver;
mod metrics;
mod publisher;
mod send;

pub use config::KafkaConfig;
pub use metrics::KafkaMetrics;
pub use publisher::{KafkaError, KafkaPublisher};
