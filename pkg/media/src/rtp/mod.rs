//! RTP (RFC 3550): header model, parsing, building, sequence arithmetic.

mod header;

pub use header::RtpHeader;
