//! Spans of outgoing requests and W3C `traceparent` propagation, for every
//! HTTP client of the gateway (ARI, the orchestrator, the speech providers,
//! the tenant-manager): `let span = client_span(..); inject(&span, headers)`,
//! then the request runs `.instrument(span)`.
//!
//! The spans are DEBUG: with traces off they are disabled at their callsite
//! and cost a branch; `inject` then returns at once.

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// A client span for a request of `peer` (`ari`, `orchestrator`, a provider's
/// name), child of the current span (the call's, inside a call).
#[macro_export]
macro_rules! client_span {
    ($peer:expr, $operation:expr, $method:expr) => {
        tracing::debug_span!(
            "request",
            "otel.name" = %format_args!("{} {}", $peer, $operation),
            "otel.kind" = "client",
            "peer.service" = $peer,
            "http.request.method" = %$method,
            "http.response.status_code" = tracing::field::Empty,
        )
    };
}
pub use client_span;

/// Adds `traceparent` (and `tracestate`) of `span` to `headers`; nothing when
/// traces are off or the span is not sampled.
pub fn inject(span: &tracing::Span, headers: &mut http::HeaderMap) {
    if !super::traces::exporting() || span.is_disabled() {
        return;
    }
    let cx = span.context();
    TraceContextPropagator::new().inject_context(&cx, &mut Injector(headers));
}

/// Records the response's status on `span`.
pub fn record_status(span: &tracing::Span, status: u16) {
    span.record("http.response.status_code", status);
}

struct Injector<'a>(&'a mut http::HeaderMap);

impl opentelemetry::propagation::Injector for Injector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            http::header::HeaderName::from_bytes(key.as_bytes()),
            http::HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

/// Sends `request` in a client span of `peer` (`operation` names it, e.g. a
/// path), with `traceparent`: the one call every reqwest client of the
/// gateway makes instead of `send()`.
pub async fn send(
    peer: &'static str,
    operation: &str,
    request: reqwest::RequestBuilder,
) -> reqwest::Result<reqwest::Response> {
    use tracing::Instrument;
    let (client, request) = request.build_split();
    let mut request = request?;
    let span = client_span!(peer, operation, request.method());
    inject(&span, request.headers_mut());
    let sent = client.execute(request).instrument(span.clone()).await;
    if let Ok(r) = &sent {
        record_status(&span, r.status().as_u16());
    }
    sent
}
