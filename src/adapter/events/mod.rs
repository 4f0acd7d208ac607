//! Event publishers and the CloudEvents envelope they share.
//!
//! The embedded default is [`JsonlFile`]: one envelope per line in a local file.
//! [`KafkaPublisher`] sends the same [`envelope`]s to a Kafka topic through an
//! on-disk [`Spool`], so no accepted event is lost while the broker is away.

mod envelope;
mod jsonl;
pub mod kafka;
pub mod spool;

#[cfg(test)]
mod schema_tests;

pub use envelope::{SCHEMA_VERSION, envelope};
pub use jsonl::JsonlFile;
pub use kafka::{KafkaConfig, KafkaMetrics, KafkaPublisher};
pub use spool::{Spool, SpoolError, SpoolOptions};
