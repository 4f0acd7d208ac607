//! [`CallTraces`] over OpenTelemetry: a call's trace id, and its turn stages
//! as spans with the start and end the call core measured.

use crate::application::ports::traces::{CallTraces, NoTraces, StageSpan};
use opentelemetry::{
    KeyValue,
    trace::{Span as _, SpanKind, TraceContextExt, Tracer as _},
};
use opentelemetry_sdk::trace::Tracer;
use std::sync::{Arc, OnceLock};
use tracing_opentelemetry::OpenTelemetrySpanExt;

static INSTALLED: OnceLock<Tracer> = OnceLock::new();

/// Called once, when the exporter is installed.
pub(super) fn install(tracer: Tracer) {
    let _ = INSTALLED.set(tracer);
}

/// The calls' traces: exported when `init_telemetry` installed an exporter,
/// else [`NoTraces`].
pub fn call_traces() -> Arc<dyn CallTraces> {
    match INSTALLED.get() {
        Some(tracer) => Arc::new(OtelTraces {
            tracer: tracer.clone(),
        }),
        None => Arc::new(NoTraces),
    }
}

/// Whether spans are exported (an exporter is installed).
pub(super) fn exporting() -> bool {
    INSTALLED.get().is_some()
}

#[derive(Debug)]
struct OtelTraces {
    tracer: Tracer,
}

impl CallTraces for OtelTraces {
    fn enabled(&self) -> bool {
        true
    }

    fn trace_id(&self, call: &tracing::Span) -> Option<String> {
        let cx = call.context();
        let span = cx.span();
        let sc = span.span_context();
        (sc.is_valid() && sc.is_sampled()).then(|| sc.trace_id().to_string())
    }

    fn stage(&self, call: &tracing::Span, stage: StageSpan) {
        let parent = call.context();
        if !parent.span().span_context().is_sampled() {
            return;
        }
        let mut span = self
            .tracer
            .span_builder(stage.stage.span_name())
            .with_kind(SpanKind::Internal)
            .with_start_time(stage.start)
            .with_attributes([KeyValue::new("turn", i64::from(stage.turn))])
            .start_with_context(&self.tracer, &parent);
        span.end_with_timestamp(stage.end);
    }
}
