//! Each variant serialises to the object the `json!` maps at the publish
//! sites built before the data was typed: same fields, same shapes.

use super::*;
use crate::domain::{
    AgentId, Did, E164, TransferMode, TransferTarget,
    call::{Direction, EndReason},
};
use serde_json::{Value, json};

fn inbound() -> CallContext {
    CallContext {
        direction: Direction::Inbound,
        channel_id: Some("1700000000.1".into()),
        agent_id: Some(AgentId::parse("sales").unwrap()),
    }
}

fn outbound_router() -> CallContext {
    CallContext {
        direction: Direction::Outbound,
        channel_id: None,
        agent_id: None,
    }
}

/// `data` as the session's publisher completed it: the common fields added.
fn with_common(own: Value) -> Value {
    let mut m = own.as_object().unwrap().clone();
    m.insert("direction".into(), json!("inbound"));
    m.insert("channel_id".into(), json!("1700000000.1"));
    m.insert("agent_id".into(), json!("sales"));
    Value::Object(m)
}

fn target() -> TransferTarget {
    TransferTarget::parse("+15551234567").unwrap()
}

#[test]
fn session_events_keep_their_fields() {
    let cases = [
        (
            EventData::CallStarted(Started::Inbound {
                did: Did::parse("+15557654321").unwrap(),
                caller_number: "+15551234567".into(),
            }),
            json!({"did": "+15557654321", "caller_number": "+15551234567"}),
        ),
        (EventData::CallAnswered(Answered::default()), json!({})),
        (
            EventData::SttTranscribed(Transcribed {
                text: "hello".into(),
                confidence: Some(0.9),
                turn: 1,
            }),
            json!({"text": "hello", "confidence": 0.9_f32, "turn": 1}),
        ),
        (
            EventData::SttTranscribed(Transcribed {
                text: "hello".into(),
                confidence: None,
                turn: 2,
            }),
            json!({"text": "hello", "confidence": null, "turn": 2}),
        ),
        (
            EventData::AgentResponded(Responded::Reply {
                text: "Sure.".into(),
                latency_ms: Some(412.5),
            }),
            json!({"text": "Sure.", "latency_ms": 412.5}),
        ),
        (
            EventData::AgentResponded(Responded::Reply {
                text: "Sure.".into(),
                latency_ms: None,
            }),
            json!({"text": "Sure.", "latency_ms": null}),
        ),
        (
            EventData::AgentResponded(Responded::NothingToSay),
            json!({"text": ""}),
        ),
        (
            EventData::AgentResponded(Responded::Prompt),
            json!({"prompt": true}),
        ),
        (
            EventData::TtsGenerated(Generated {
                text: "Hi.".into(),
                audio_ms: 1_240,
                latency: None,
            }),
            json!({"text": "Hi.", "audio_ms": 1_240}),
        ),
        (
            EventData::CallBargein(BargeIn {
                heard_text: "Your order".into(),
                heard_ms: 600,
                dropped_ms: 1_400,
                delay_ms: Some(41.5),
                caller_text: None,
                latency: None,
            }),
            json!({"heard_text": "Your order", "heard_ms": 600, "dropped_ms": 1_400, "delay_ms": 41.5}),
        ),
        (
            EventData::CallBargein(BargeIn {
                heard_text: String::new(),
                heard_ms: 0,
                dropped_ms: 0,
                delay_ms: None,
                caller_text: None,
                latency: None,
            }),
            json!({"heard_text": "", "heard_ms": 0, "dropped_ms": 0, "delay_ms": null}),
        ),
        (
            EventData::CallDtmf(Dtmf {
                digit: Some('#'),
                masked: false,
            }),
            json!({"digit": "#"}),
        ),
        (
            EventData::CallDtmf(Dtmf {
                digit: None,
                masked: true,
            }),
            json!({"masked": true}),
        ),
        (
            EventData::CallEscalated(Escalated {
                target: target(),
                mode: TransferMode::Blind,
                status: Escalation::Started,
            }),
            json!({"target": "+15551234567", "mode": "blind", "status": "started"}),
        ),
        (
            EventData::CallEscalated(Escalated {
                target: target(),
                mode: TransferMode::Blind,
                status: Escalation::Failed {
                    outcome: TransferFailure::Failed,
                    error: Some("ari: 404".into()),
                },
            }),
            json!({"target": "+15551234567", "mode": "blind", "status": "failed",
                "outcome": "failed", "error": "ari: 404"}),
        ),
        (
            EventData::CallEscalated(Escalated {
                target: target(),
                mode: TransferMode::Attended,
                status: Escalation::Failed {
                    outcome: TransferFailure::NoAnswer,
                    error: None,
                },
            }),
            // Was `"error": null`, which the schema (a string) refuses.
            json!({"target": "+15551234567", "mode": "attended", "status": "failed",
                "outcome": "no_answer"}),
        ),
        (
            EventData::CallTransferred(Transferred {
                target: TransferTarget::parse("agents").unwrap(),
                mode: TransferMode::Attended,
            }),
            json!({"target": "agents", "mode": "attended"}),
        ),
        (
            EventData::SttFailed(SttFailed {
                error: "stream reset".into(),
                attempt: Some(2),
                providers: vec!["deepgram".into(), "wyoming".into()],
            }),
            json!({"error": "stream reset", "attempt": 2, "providers": ["deepgram", "wyoming"]}),
        ),
        (
            EventData::SttFailed(SttFailed {
                error: "refused".into(),
                attempt: None,
                providers: vec![],
            }),
            json!({"error": "refused", "providers": []}),
        ),
        (
            EventData::LlmTimeout(LlmTimeout {
                error: "timed out after 8s".into(),
            }),
            json!({"error": "timed out after 8s"}),
        ),
        (
            EventData::TtsFailed(TtsFailed {
                error: "429".into(),
                prompt: true,
                providers: vec!["openai".into()],
            }),
            json!({"error": "429", "prompt": true, "providers": ["openai"]}),
        ),
    ];
    for (data, own) in cases {
        assert_eq!(data.to_json(&inbound()), with_common(own), "{data:?}");
    }
}

#[test]
fn call_ended_keeps_its_figures() {
    let latency = TurnLatency {
        stt_ms: Some(120.0),
        total_ms: Some(830.5),
        ..TurnLatency::default()
    };
    let ended = |reason: EndReason, providers: Option<Providers>| {
        EventData::CallEnded(Ended {
            reason,
            duration_ms: 61_250,
            answered: true,
            turns: 3,
            conversation: Some(Conversation {
                barge_ins: 1,
                latency: vec![latency],
            }),
            providers,
            trace_id: None,
        })
    };
    let figures = json!({"duration_ms": 61_250, "answered": true, "turns": 3, "barge_ins": 1,
        "latency": [latency]});
    let mut hangup = figures.clone();
    hangup["reason"] = json!("caller_hangup");
    hangup["detail"] = json!("caller_hangup");
    assert_eq!(
        ended(EndReason::CallerHangup, None).to_json(&inbound()),
        with_common(hangup)
    );
    let mut error = figures.clone();
    error["reason"] = json!("error");
    error["detail"] = json!("error: stt");
    error["stt_providers"] = json!(["deepgram"]);
    error["tts_providers"] = json!(["openai", "elevenlabs"]);
    let providers = Providers {
        stt_providers: vec!["deepgram".into()],
        tts_providers: vec!["openai".into(), "elevenlabs".into()],
    };
    assert_eq!(
        ended(EndReason::Error("stt".into()), Some(providers)).to_json(&inbound()),
        with_common(error)
    );
}

#[test]
fn the_routers_outbound_events_keep_their_fields() {
    let agent = CallContext {
        agent_id: Some(AgentId::parse("sales").unwrap()),
        ..outbound_router()
    };
    let started = EventData::CallStarted(Started::Outbound {
        to: E164::parse("+15551234567").unwrap(),
        from: None,
        metadata: [("crm".to_owned(), "42".to_owned())].into(),
    });
    assert_eq!(
        started.to_json(&agent),
        json!({"to": "+15551234567", "from": null, "agent_id": "sales",
            "metadata": {"crm": "42"}, "direction": "outbound"})
    );
    for data in [
        EventData::CallRinging {},
        EventData::CallAnswered(Answered::default()),
    ] {
        assert_eq!(
            data.to_json(&outbound_router()),
            json!({"direction": "outbound"})
        );
    }
    let ended = EventData::CallEnded(Ended {
        reason: EndReason::NoAnswer,
        duration_ms: 0,
        answered: false,
        turns: 0,
        conversation: None,
        providers: None,
        trace_id: None,
    });
    assert_eq!(
        ended.to_json(&outbound_router()),
        json!({"reason": "no_answer", "detail": "no_answer", "direction": "outbound",
            "duration_ms": 0, "answered": false, "turns": 0})
    );
}
