//! Distributed traces (issue 20): the gateway binary on the Asterisk
//! simulator exports each call as one trace to an OTLP receiver in the test,
//! propagates `traceparent` to the orchestrator, names the trace in its logs
//! and in `call.ended`; a bad endpoint is refused by check-config; a
//! collector that is down costs no call.

// Tests read the clock to wait.
#![allow(clippy::disallowed_methods)]

mod bench;
#[path = "../common/traces.rs"]
mod collector;
#[path = "../common/process.rs"]
mod process;
mod support;

use collector::{Collector, Orchestrator, Received};
use support::{Gateway, speech, until};
use vg_asterisk_sim::{SimConfig, Simulator};

const BIN: &str = env!("CARGO_BIN_EXE_voice-gateway");

/// One call with one caller turn, on a gateway exporting to `endpoint`:
/// returns its id, its `call.ended` and the gateway.
async fn one_call(sim: &vg_asterisk_sim::SimHandle, gw: &Gateway) -> (String, serde_json::Value) {
    let call = sim.place_inbound_call("+15551234567", "+15557654321");
    until("the greeting", 30, || {
        gw.events_of("tts.generated").len() == 1
    })
    .await;
    sim.caller_say(call, &speech());
    until("the answer", 30, || {
        gw.events_of("tts.generated").len() == 2
    })
    .await;
    sim.caller_hangup(call);
    until("call.ended", 30, || gw.events_of("call.ended").len() == 1).await;
    let ended = gw.events_of("call.ended").remove(0);
    (ended["call_id"].as_str().unwrap().to_owned(), ended)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_is_one_trace_with_its_stages_and_the_orchestrator_joins_it() {
    let collector = Collector::default();
    let endpoint = collector.start().await;
    let orch = Orchestrator::start().await;
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let gw = Gateway::spawn(
        &sim,
        &orch.url,
        &[("VOICEGW__TELEMETRY__OTLP__ENDPOINT", &endpoint)],
    )
    .await;
    let (call_id, ended) = one_call(&sim, &gw).await;

    let call_span =
        |s: &Received| s.name() == "call" && s.attr("call.id").as_deref() == Some(&call_id);
    until("the call's spans", 30, || {
        let spans = collector.spans();
        spans.iter().any(call_span) && spans.iter().any(|s| s.name() == "turn.first_packet")
    })
    .await;
    let spans = collector.spans();
    let call = spans.iter().find(|s| call_span(s)).unwrap().clone();
    assert_eq!(call.service, "voice-gateway");
    assert_eq!(
        call.attr("tenant.id").as_deref(),
        Some("default"),
        "{call:?}"
    );
    assert!(
        call.span.parent_span_id.is_empty(),
        "the call span is the trace's root"
    );
    let trace = call.trace_id();
    let in_trace: Vec<&Received> = spans.iter().filter(|s| s.trace_id() == trace).collect();

    // Each stage of the caller's turn, a child of the call span, in order.
    let stages = ["turn.stt", "turn.agent", "turn.tts", "turn.first_packet"];
    let mut starts = Vec::new();
    for name in stages {
        let stage = in_trace
            .iter()
            .find(|s| s.name() == name)
            .unwrap_or_else(|| panic!("no {name} span in {:?}", names(&in_trace)));
        assert_eq!(
            stage.parent_id(),
            call.span_id(),
            "{name} is the call's child"
        );
        assert_eq!(stage.attr("turn").as_deref(), Some("1"), "{name}");
        assert!(stage.span.end_time_unix_nano >= stage.span.start_time_unix_nano);
        assert!(stage.span.start_time_unix_nano >= call.span.start_time_unix_nano);
        starts.push(stage.span.start_time_unix_nano);
    }
    assert!(starts.is_sorted(), "stages in turn order: {starts:?}");

    // ARI requests and the orchestrator's, in the call's trace.
    for name in [
        "ari channels.answer",
        "ari bridges.create",
        "ari channels.externalMedia",
        "orchestrator conversations",
    ] {
        let request = in_trace.iter().find(|s| s.name() == name);
        let request = request.unwrap_or_else(|| panic!("no {name} span in {:?}", names(&in_trace)));
        assert_eq!(
            request.parent_id(),
            call.span_id(),
            "{name} is the call's child"
        );
    }
    let turn_request = in_trace
        .iter()
        .find(|s| s.name() == "orchestrator turns")
        .unwrap_or_else(|| panic!("no orchestrator turn span in {:?}", names(&in_trace)));
    assert_eq!(
        turn_request.attr("http.response.status_code").as_deref(),
        Some("200")
    );

    // The orchestrator got the trace: its turn request's parent is that span.
    let headers = orch.traceparents();
    let turn_parent = headers
        .iter()
        .find(|(path, _)| path.ends_with("/turns"))
        .map(|(_, tp)| tp.clone())
        .expect("the turn request carried traceparent");
    assert_eq!(
        turn_parent,
        format!("00-{trace}-{}-01", turn_request.span_id()),
        "traceparent names the call's trace and the request's span"
    );
    assert!(
        headers.iter().all(|(_, tp)| tp.contains(&trace)),
        "every orchestrator request is in the call's trace: {headers:?}"
    );

    // The trace id in `call.ended` and in the call's log lines.
    assert_eq!(ended["trace_id"].as_str(), Some(trace.as_str()), "{ended}");
    let logged = gw.log_lines();
    assert!(
        logged
            .iter()
            .any(|l| l["span"]["trace_id"] == trace.as_str()
                && l["span"]["call_id"] == call_id.as_str()),
        "a log line of the call names its trace"
    );
    gw.stop().await;
}

fn names(spans: &[&Received]) -> Vec<String> {
    spans.iter().map(|s| s.name().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_collector_down_calls_go_on() {
    // A port that refuses connections: bound, then closed.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let orch = Orchestrator::start().await;
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let gw = Gateway::spawn(
        &sim,
        &orch.url,
        &[
            ("VOICEGW__TELEMETRY__OTLP__ENDPOINT", &dead),
            ("VOICEGW__TELEMETRY__OTLP__EXPORT_TIMEOUT", "200ms"),
        ],
    )
    .await;
    for round in 0..3 {
        let call = sim.place_inbound_call("+15551234567", "+15557654321");
        let want = 2 * round + 1;
        until("the greeting", 30, || {
            gw.events_of("tts.generated").len() == want
        })
        .await;
        sim.caller_say(call, &speech());
        until("the answer", 30, || {
            gw.events_of("tts.generated").len() == want + 1
        })
        .await;
        sim.caller_hangup(call);
        until("call.ended", 30, || {
            gw.events_of("call.ended").len() == round + 1
        })
        .await;
    }
    // The calls were traced (the ids are there); their spans only failed to leave.
    let ended = gw.events_of("call.ended");
    assert!(
        ended
            .iter()
            .all(|e| e["trace_id"].as_str().is_some_and(|t| t.len() == 32))
    );
    assert!(
        ended.iter().all(|e| e["reason"] == "caller_hangup"),
        "{ended:?}"
    );
    // Every turn request carried a traceparent (a turn sent ahead of the
    // caller's final and then re-sent counts twice).
    let traced_turns = orch
        .traceparents()
        .iter()
        .filter(|(p, _)| p.ends_with("/turns"))
        .count();
    assert!(traced_turns >= 3, "{traced_turns}");
    gw.stop().await;
}

#[test]
fn check_config_refuses_an_endpoint_that_is_not_a_url() {
    for (value, says) in [
        ("127.0.0.1:4318", "is not a URL"),
        ("collector", "is not a URL"),
        ("http://127.0.0.1:4318/v1/traces", "/v1/traces is added"),
    ] {
        let out = std::process::Command::new(BIN)
            .arg("check-config")
            .env("VOICEGW__TELEMETRY__OTLP__ENDPOINT", value)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{value}: {err}");
        assert!(
            err.contains("`telemetry.otlp.endpoint`")
                && err.contains(says)
                && err.contains("http://127.0.0.1:4318"),
            "{value}: {err}"
        );
    }
    let out = std::process::Command::new(BIN)
        .arg("check-config")
        .env(
            "VOICEGW__TELEMETRY__OTLP__ENDPOINT",
            "http://127.0.0.1:4318",
        )
        .env("VOICEGW__TELEMETRY__OTLP__SAMPLING_RATIO", "2")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("`telemetry.otlp.sampling_ratio`"), "{err}");
    let out = std::process::Command::new(BIN)
        .arg("check-config")
        .env(
            "VOICEGW__TELEMETRY__OTLP__ENDPOINT",
            "http://127.0.0.1:4318",
        )
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text.contains("[telemetry.otlp]") && text.contains("endpoint = \"http://127.0.0.1:4318\""),
        "{text}"
    );
}
