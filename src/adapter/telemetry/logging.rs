//! The global `tracing` subscriber: log lines on stderr and, when
//! `[telemetry.otlp]` names a collector, the OpenTelemetry bridge.

use super::{otlp, traces};
use crate::adapter::config::{LogConfig, LogFormat, OtlpSection};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::{Dispatch, Level, Metadata};
use tracing_subscriber::{
    EnvFilter, Layer, filter::FilterFn, fmt, layer::SubscriberExt, util::SubscriberInitExt,
};

/// What telemetry holds until the process exits.
#[derive(Debug, Default)]
#[must_use = "shut it down at exit, or the last spans are lost"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Sends the spans still queued (waiting at most the export timeout).
    pub fn shutdown(self) {
        if let Some(p) = self.provider
            && let Err(e) = p.shutdown()
        {
            tracing::warn!(error = %e, "spans not all exported at exit");
        }
    }
}

/// Installs the global subscriber of [`subscriber`]. Called once by the
/// binary; libraries and tests don't.
pub fn init_telemetry(
    log: &LogConfig,
    otlp_cfg: &OtlpSection,
    runtime: tokio::runtime::Handle,
) -> Result<Telemetry, String> {
    let (subscriber, telemetry) = subscriber(log, otlp_cfg, runtime)?;
    subscriber.try_init().map_err(|e| e.to_string())?;
    Ok(telemetry)
}

/// The subscriber: JSON lines or pretty text on stderr, filtered by
/// `log.level`, and with an OTLP endpoint the span exporter (its exports run
/// on `runtime`). Without one it is the plain log subscriber the gateway had
/// before traces, so traces off cost nothing. Public for the benchmark.
pub fn subscriber(
    log: &LogConfig,
    otlp_cfg: &OtlpSection,
    runtime: tokio::runtime::Handle,
) -> Result<(Dispatch, Telemetry), String> {
    let filter = EnvFilter::builder()
        .parse(&log.level)
        .map_err(|e| format!("log.level {:?}: {e}", log.level))?;
    if otlp_cfg.enabled_endpoint().is_none() {
        let plain = fmt().with_env_filter(filter).with_writer(std::io::stderr);
        let dispatch = match log.format {
            LogFormat::Json => Dispatch::new(
                plain
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .finish(),
            ),
            LogFormat::Pretty => Dispatch::new(plain.compact().finish()),
        };
        return Ok((dispatch, Telemetry::default()));
    }
    let lines = fmt::layer().with_writer(std::io::stderr);
    let lines = match log.format {
        LogFormat::Json => lines
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .boxed(),
        LogFormat::Pretty => lines.compact().boxed(),
    }
    .with_filter(filter);
    let provider = otlp::provider(otlp_cfg, runtime)?;
    let tracer = provider.tracer("voice-gateway");
    traces::install(tracer.clone());
    let bridge = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        // Each poll of a call's task enters its span: no clock read, no
        // context switch there. Traces need neither.
        .with_tracked_inactivity(false)
        .with_context_activation(false)
        .with_location(false)
        .with_threads(false)
        .with_filter(FilterFn::new(exported).with_max_level_hint(Level::DEBUG));
    let subscriber = tracing_subscriber::registry().with(lines).with(bridge);
    Ok((
        Dispatch::new(subscriber),
        Telemetry {
            provider: Some(provider),
        },
    ))
}

/// What the bridge turns into OpenTelemetry: the gateway's own spans (the
/// request spans are DEBUG, so with traces off they are never built), and
/// its INFO and louder events as span events. Decided once per callsite.
fn exported(m: &Metadata<'_>) -> bool {
    m.target().starts_with("voice_gateway") && (m.is_span() || *m.level() <= Level::INFO)
}
