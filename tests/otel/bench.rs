//! What traces cost (issue 20), in-process, one mode per process:
//! `VG_OTEL_BENCH=before|off|on cargo test --release -p voice-gateway --test
//! otel -- --ignored --nocapture bench_trace_cost`. `before` is the
//! subscriber the gateway had before traces (fmt with a global EnvFilter);
//! `off` and `on` are today's, without and with an OTLP endpoint (a
//! receiver in the process). Figures go to bench/results by hand.

use crate::collector::Collector;
use std::{
    hint::black_box,
    time::{Duration, Instant},
};
use voice_gateway::adapter::{
    config::{LogConfig, LogFormat, OtlpSection},
    telemetry,
};

fn per_op(n: u32, mut op: impl FnMut()) -> f64 {
    for _ in 0..n / 10 {
        op();
    }
    let start = Instant::now();
    for _ in 0..n {
        op();
    }
    start.elapsed().as_nanos() as f64 / f64::from(n)
}

#[test]
#[ignore = "benchmark: run by hand, one mode per process"]
fn bench_trace_cost() {
    let mode = std::env::var("VG_OTEL_BENCH").unwrap_or_else(|_| "off".into());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let collector = Collector::default();
    let endpoint = runtime.block_on(collector.start());
    let log = LogConfig {
        level: "info".into(),
        format: LogFormat::Json,
    };
    let mut otlp = OtlpSection::default();
    let _telemetry = match mode.as_str() {
        "before" => {
            let s = tracing_subscriber::fmt()
                .with_env_filter("info")
                .with_writer(std::io::stderr)
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .finish();
            tracing::subscriber::set_global_default(s).unwrap();
            None
        }
        "off" | "on" => {
            if mode == "on" {
                otlp.endpoint = Some(endpoint);
            }
            let (s, t) = telemetry::subscriber(&log, &otlp, runtime.handle().clone()).unwrap();
            tracing::dispatcher::set_global_default(s).unwrap();
            Some(t)
        }
        other => panic!("VG_OTEL_BENCH={other}: before, off or on"),
    };
    let traces = telemetry::call_traces();
    let call = tracing::info_span!(
        "call",
        call_id = "0193a1b2-0000-7000-8000-000000000001",
        channel = "1795241008.163",
        "call.id" = "0193a1b2-0000-7000-8000-000000000001",
        "tenant.id" = "acme",
        trace_id = tracing::field::Empty,
    );
    if let Some(id) = traces.trace_id(&call) {
        call.record("trace_id", id.as_str());
    }
    // A wake of the call's task: its span entered and left (50 a second per call).
    let poll = per_op(2_000_000, || call.in_scope(|| black_box(())));
    // A debug event on the media path (filtered out at `info`).
    let debug = per_op(2_000_000, || {
        call.in_scope(|| tracing::debug!(frame = 1, "frame not taken by STT"))
    });
    // One ARI or provider request's span and traceparent (none `before`).
    let request = if mode == "before" {
        0.0
    } else {
        call.in_scope(|| {
            per_op(200_000, || {
                let span = voice_gateway::client_span!("ari", "channels.answer", "POST");
                let mut headers = http::HeaderMap::new();
                telemetry::propagate::inject(&span, &mut headers);
                black_box(headers);
            })
        })
    };
    // One turn's four stage spans.
    let now = std::time::SystemTime::now();
    let turn = per_op(50_000, || {
        use voice_gateway::application::ports::traces::{StageSpan, TurnStage};
        if !traces.enabled() {
            return;
        }
        for stage in [
            TurnStage::SpeechToText,
            TurnStage::Agent,
            TurnStage::TextToSpeech,
            TurnStage::FirstPacket,
        ] {
            traces.stage(
                &call,
                StageSpan {
                    stage,
                    turn: 1,
                    start: now,
                    end: now + Duration::from_millis(1),
                },
            );
        }
    });
    eprintln!(
        "OTEL-BENCH mode={mode} poll_ns={poll:.1} debug_event_ns={debug:.1} request_ns={request:.1} turn_stages_ns={turn:.1}"
    );
}
