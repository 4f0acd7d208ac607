//! Configuration: one typed struct, loaded from a TOML file and overridden by
//! `VOICEGW__SECTION__KEY` environment variables, validated once at start.
//!
//! Loading goes: embedded defaults → file → environment → typed struct →
//! semantic checks. Every failure names the key, where the value came from,
//! what was wrong and the form that was expected, so an operator can fix the
//! deployment from the one log line.

mod data;
mod dialing;
mod error;
mod ha;
mod load;
mod model;
mod overrides;
mod secret;
mod session;
mod speech;
mod telemetry;
mod tenant_manager;
mod types;

pub use data::{KafkaSection, PostgresSection, RedisSection};
pub use dialing::policy as dialing_policy;
pub use error::ConfigError;
pub use ha::HaSection;
pub use load::{ConfigSource, load, load_from_str};
pub use model::{
    AriConfig, AuthSection, Config, DialingSection, EventsConfig, HttpConfig, LifecycleConfig,
    LimitsSection, LogConfig, LogFormat, MediaConfig, MediaTransport, OrchestratorSection,
    OutboundSection, RouteConfig, SessionSection, TenantDialingSection, TenantLimitsSection,
    WireFormat,
};
pub use secret::{Secret, SecretUrl};
pub use session::{BargeInModeSetting, TransferModeSetting};
pub use speech::{
    AwsSection, CloudSection, GoogleSection, GoogleSttEncoding, OpenAiSection, SpeechProvider,
    SpeechSection, WyomingSection,
};
pub use telemetry::{OtlpSection, TelemetrySection};
pub use tenant_manager::{DirectorySection, DirectorySource, TenantManagerSection};
pub use types::{HumanDuration, PortRange};

/// Default location of the configuration file, relative to the working directory.
pub const DEFAULT_CONFIG_PATH: &str = "config/voice-gateway.toml";

/// Prefix of environment variables that override configuration keys.
pub const ENV_PREFIX: &str = "VOICEGW__";

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_data;
#[cfg(test)]
mod tests_speech;
