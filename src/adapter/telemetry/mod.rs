//! Telemetry: log output (`tracing`) and Prometheus metrics.

mod logging;
mod metrics;
mod process;

pub use logging::init_logging;
pub use metrics::{BuildInfo, Metrics};
pub use process::ProcessStats;
