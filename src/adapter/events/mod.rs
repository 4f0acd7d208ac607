//! Event publishers and the CloudEvents envelope they share.
//!
//! The embedded default is [`JsonlFile`]: one envelope per line in a local file.
//! The Kafka publisher (with its on-disk spool) arrives with the data work and
//! uses the same [`envelope`].

mod envelope;
mod jsonl;

pub use envelope::{SCHEMA_VERSION, envelope};
pub use jsonl::JsonlFile;
