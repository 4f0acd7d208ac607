//! AMI adapter: the Asterisk Manager Interface, ARI's fallback for call control.
//!
//! When ARI's HTTP side fails (connection refused or broken, timeout, 5xx), a
//! hangup, a redirect into the dialplan or an originate can still go through
//! the manager port. [`AmiClient`] speaks the manager protocol over one TCP
//! connection with events off; [`AriWithAmi`] is the telephony port over ARI
//! that turns to it.

mod client;
mod fallback;
pub mod protocol;

#[cfg(test)]
mod tests;

pub use client::{AmiClient, AmiConfig, AmiError, AmiOriginate, address_of};
pub use fallback::{AmiMetrics, AriWithAmi};
