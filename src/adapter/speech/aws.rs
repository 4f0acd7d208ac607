//! Amazon Web Services: Transcribe streaming speech-to-text (`stt = "aws"`)
//! and Polly text-to-speech (`tts = "polly"`), both configured by
//! `[speech.aws]`. Written against the wire protocols (SigV4, HTTP/2 event
//! streams) rather than the AWS SDK crates; Cargo.toml says why.

pub mod config;
pub mod credentials;
pub mod eventstream;
pub mod h2conn;
pub mod imds;
pub mod polly;
pub mod provider;
pub mod sigv4;
pub mod transcribe;
pub mod transcript;

pub use config::AwsConfig;
pub use credentials::Credentials;
pub use polly::PollyTts;
pub use provider::SharedCredentials;
pub use transcribe::TranscribeStt;

#[cfg(test)]
mod bench;
#[cfg(test)]
mod fake;
#[cfg(test)]
mod props;
#[cfg(test)]
mod tests_fallback;
#[cfg(test)]
mod tests_imds;
#[cfg(test)]
mod tests_live;
#[cfg(test)]
mod tests_polly;
#[cfg(test)]
mod tests_signing;
#[cfg(test)]
mod tests_transcribe;
