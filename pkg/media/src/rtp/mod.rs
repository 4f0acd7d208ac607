//! RTP (RFC 3550): header model, zero-copy parsing, allocation-free building,
//! and sequence/timestamp arithmetic that survives wrap-around.
//!
//! # Why our own parser and not `rtp-rs`
//!
//! The issue card names `rtp-rs`. We wrote the ~200 lines ourselves because:
//! - every malformed case gets its own [`RtpError`] variant carrying the
//!   offending lengths (rtp-rs folds several into one `HeadersTruncated`), which
//!   the media socket adapter turns into per-cause counters;
//! - building writes into a caller-provided `&mut [u8]` and never allocates
//!   (the pacer emits fifty packets a second per call);
//! - the parsed view ([`RtpPacket`]) exposes the extension profile/data and the
//!   CSRC list as borrowed slices, so nothing is copied on the inbound path;
//! - one dependency fewer in a crate that sits under every call.
//!
//! The parser is fuzzed (`fuzz/fuzz_targets/rtp_packet.rs`) and property-tested
//! (`parse(build(x)) == x`, arbitrary bytes never panic).
//!
//! # Use
//! Inbound: `RtpPacket::parse(&datagram)?` then `packet.header()` for the
//! jitter buffer and `packet.payload` for the codec. Outbound: fill an
//! [`RtpPacket`] (usually via [`RtpPacket::new`]) and call
//! [`RtpPacket::write_to`] with the socket's send buffer.

mod build;
mod header;
mod packet;
mod seq;

pub use build::RtpBuildError;
pub use header::RtpHeader;
pub use packet::{Csrcs, RTP_HEADER_LEN, RtpError, RtpExtension, RtpPacket};
pub use seq::{SeqTracker, SeqUpdate, TimestampExtender, seq_diff, ts_diff, ts_diff_i64};

#[cfg(test)]
mod tests;
