//! The global `tracing` subscriber.

use crate::adapter::config::{LogConfig, LogFormat};
use tracing_subscriber::{EnvFilter, fmt};

/// Installs the global subscriber: JSON lines or pretty text on stderr, filtered
/// by `log.level`. Called once by the binary; libraries and tests don't.
pub fn init_logging(cfg: &LogConfig) -> Result<(), String> {
    let filter = EnvFilter::builder()
        .parse(&cfg.level)
        .map_err(|e| format!("log.level {:?}: {e}", cfg.level))?;
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let result = match cfg.format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
        LogFormat::Pretty => builder.compact().try_init(),
    };
    result.map_err(|e| e.to_string())
}
