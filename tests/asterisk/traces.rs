//! Distributed traces on the real Asterisk (issue 20): one call with a
//! caller turn arrives at the test's OTLP receiver as one trace, the call
//! span with its turn stages and its ARI requests, and the orchestrator
//! receives the trace in `traceparent`.

use crate::{
    audio::utterance,
    calls::{DID, T},
    rig::{Rig, Setup},
    traces_common::{Collector, Orchestrator, Received},
};
use std::time::Duration;
use vg_testkit::{Caller, wait_until};

#[test]
fn a_real_call_arrives_as_one_trace_with_its_stages() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let collector = Collector::default();
    let (endpoint, orch) =
        runtime.block_on(async { (collector.start().await, Orchestrator::start().await) });
    let mut setup = Setup::default();
    setup.gateway.env.extend([
        ("VOICEGW__TELEMETRY__OTLP__ENDPOINT".to_owned(), endpoint),
        ("VOICEGW__ORCHESTRATOR__URL".to_owned(), orch.url.clone()),
    ]);
    let rig = Rig::start_with(setup);
    // The orchestrator's greeting, "Hello.", is short; the caller speaks after it.
    let speech_at = Duration::from_secs(3);
    let said = utterance(
        &rig.ast,
        "turn",
        speech_at,
        Duration::from_millis(1200),
        Duration::from_secs(8),
    );
    let call = rig.ast.call(Caller::play(DID, &said)).unwrap();
    let id = rig.gw.nth_call(0, T);
    rig.gw.until_count("tts.generated", &id, 2, T);
    call.hangup().unwrap();
    let ended = rig.gw.until_type("call.ended", Some(&id), T);

    let is_call =
        |s: &Received| s.name() == "call" && s.attr("call.id").as_deref() == Some(id.as_str());
    let arrived = wait_until(T, || {
        let spans = collector.spans();
        spans.iter().any(is_call)
            && spans.iter().any(|s| s.name() == "turn.first_packet")
            && spans.iter().any(|s| s.name() == "ari bridges.destroy")
    });
    assert!(arrived, "the call's spans reach the collector");
    let spans = collector.spans();
    let call_span = spans.iter().find(|s| is_call(s)).unwrap();
    let trace = call_span.trace_id();
    let in_trace: Vec<&Received> = spans.iter().filter(|s| s.trace_id() == trace).collect();
    let names: Vec<&str> = in_trace.iter().map(|s| s.name()).collect();
    eprintln!("real Asterisk, one call's trace {trace}: {names:?}");
    assert_eq!(call_span.service, "voice-gateway");
    assert_eq!(call_span.attr("tenant.id").as_deref(), Some("acme"));
    for name in [
        "turn.stt",
        "turn.agent",
        "turn.tts",
        "turn.first_packet",
        "ari channels.answer",
        "ari channels.externalMedia",
        "ari bridges.destroy",
        "orchestrator conversations",
        "orchestrator turns",
    ] {
        let span = in_trace
            .iter()
            .find(|s| s.name() == name)
            .unwrap_or_else(|| panic!("no {name} in the call's trace: {names:?}"));
        assert_eq!(
            span.parent_id(),
            call_span.span_id(),
            "{name} is the call's child"
        );
    }
    for stage in ["turn.stt", "turn.agent", "turn.tts", "turn.first_packet"] {
        let s = in_trace.iter().find(|s| s.name() == stage).unwrap();
        let ms = (s.span.end_time_unix_nano - s.span.start_time_unix_nano) as f64 / 1e6;
        eprintln!("  {stage}: {ms:.1} ms");
    }
    let parents = orch.traceparents();
    assert!(
        parents
            .iter()
            .any(|(p, tp)| p.ends_with("/turns") && tp.starts_with(&format!("00-{trace}-"))),
        "the orchestrator's turn request carried the call's trace: {parents:?}"
    );
    assert_eq!(
        ended["data"]["trace_id"].as_str(),
        Some(trace.as_str()),
        "{ended}"
    );
    drop(runtime);
    rig.finish();
}
