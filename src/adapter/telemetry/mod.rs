//! Telemetry: log output and distributed traces (`tracing`, bridged to
//! OpenTelemetry when `[telemetry.otlp]` names a collector) and Prometheus
//! metrics.

mod logging;
mod metrics;
mod otlp;
mod process;
pub mod propagate;
mod traces;

pub use logging::{Telemetry, init_telemetry, subscriber};
pub use metrics::{BuildInfo, Metrics};
pub use process::ProcessStats;
pub use traces::call_traces;
