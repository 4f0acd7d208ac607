//! The OTLP trace pipeline: spans batched on the SDK's own thread and POSTed
//! as protobuf to `{endpoint}/v1/traces` through our reqwest client.
//!
//! Why our client: opentelemetry-otlp's async reqwest is 0.13 (a second HTTP
//! and TLS stack beside our 0.12) and its default blocking one starts a
//! runtime of its own. The batch thread is not a tokio thread, so each
//! export runs as a task on the gateway's runtime and the thread waits for
//! its result; a collector that is down costs that thread a timeout, never a
//! call a moment.

use crate::adapter::config::OtlpSection;
use bytes::Bytes;
use opentelemetry_http::{HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::{
    Resource,
    trace::{BatchConfigBuilder, BatchSpanProcessor, Sampler, SdkTracerProvider},
};

/// [`HttpClient`] over the gateway's reqwest, on the gateway's runtime.
#[derive(Debug, Clone)]
pub(super) struct RuntimeClient {
    http: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

#[async_trait::async_trait]
impl HttpClient for RuntimeClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let http = self.http.clone();
        let sent = self.runtime.spawn(async move {
            let request = reqwest::Request::try_from(request)?;
            let response = http.execute(request).await?;
            let status = response.status();
            let headers = response.headers().clone();
            // The collector's answer is a small protobuf (partial success).
            let body = response.bytes().await?;
            let mut out = Response::builder().status(status).body(body)?;
            *out.headers_mut() = headers;
            Ok::<_, HttpError>(out)
        });
        sent.await?
    }
}

/// Builds the tracer provider of `cfg` (its endpoint set), exporting on
/// `runtime`. Errors name what is wrong, for the start-up log.
pub(super) fn provider(
    cfg: &OtlpSection,
    runtime: tokio::runtime::Handle,
) -> Result<SdkTracerProvider, String> {
    let url = cfg
        .traces_url()
        .ok_or("telemetry.otlp.endpoint is not set")?;
    let timeout = cfg.export_timeout.0;
    let http = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .build()
        .map_err(|e| format!("OTLP HTTP client: {e}"))?;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(RuntimeClient { http, runtime })
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(url)
        .with_timeout(timeout)
        .build()
        .map_err(|e| format!("OTLP exporter: {e}"))?;
    // The SDK's defaults (2,048 queued spans, batches of 512 every 5 s),
    // except that a batch goes out within a second: a call's trace is
    // looked at while the call is fresh.
    let batch = BatchConfigBuilder::default()
        .with_scheduled_delay(std::time::Duration::from_secs(1))
        .build();
    let processor = BatchSpanProcessor::builder(exporter)
        .with_batch_config(batch)
        .build();
    let sampler = Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(cfg.sampling_ratio)));
    Ok(SdkTracerProvider::builder()
        .with_span_processor(processor)
        .with_sampler(sampler)
        .with_resource(
            Resource::builder()
                .with_service_name(cfg.service_name.trim().to_owned())
                .build(),
        )
        .build())
}
