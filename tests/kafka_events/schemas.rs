//! The JSON Schemas in `schemas/events/` against the envelopes the gateway emits.

use serde_json::{Value, json};
#[path = "../common/schemas.rs"]
mod compiled;

pub(crate) use compiled::Schemas;
use voice_gateway::{
    adapter::events::envelope,
    application::ports::events::CallEvent,
    domain::{CallId, TenantId, events::EventType},
};

/// Data as the gateway publishes it for each type (see `application/session`).
pub(crate) fn sample_data(t: EventType) -> Value {
    let common = json!({"direction": "inbound", "channel_id": "1700000000.1", "agent_id": "sales"});
    let own = match t {
        EventType::CallStarted => {
            json!({"to": "+15550100", "from": "+15550199", "metadata": {"trunk": "t1"}})
        }
        EventType::CallEnded => json!({"reason": "caller_hangup", "detail": "caller hung up",
            "duration_ms": 61_250, "answered": true, "turns": 3, "barge_ins": 1,
            "latency": [{"turn": 1, "first_audio_ms": 830}]}),
        EventType::SttTranscribed => json!({"text": "I'd like to check my order"}),
        EventType::AgentResponded => json!({"text": "Sure, what is the order number?"}),
        EventType::CallDtmf => json!({"digit": "5"}),
        EventType::CallScreened => json!({"answered_by": "machine", "reason": "beep",
            "decision_ms": 2400, "action": "message"}),
        EventType::CallAnswered => json!({"transport": "rtp", "stt_providers": ["wyoming"],
            "tts_providers": ["wyoming", "fake"]}),
        EventType::CallEscalated | EventType::CallTransferred => {
            json!({"target": "PJSIP/200", "mode": "blind"})
        }
        EventType::SttFailed => json!({"error": "stream reset", "attempt": 1}),
        EventType::LlmTimeout | EventType::TtsFailed => json!({"error": "timed out after 8s"}),
        _ => json!({}),
    };
    let mut m = common.as_object().unwrap().clone();
    m.extend(own.as_object().unwrap().clone());
    Value::Object(m)
}

/// One event of type `t` for `call`.
pub(crate) fn sample_event(t: EventType, call: &str, tenant: &str) -> CallEvent {
    CallEvent::new(
        t,
        CallId::parse(call).unwrap(),
        TenantId::parse(tenant).unwrap(),
        std::time::SystemTime::now(),
        sample_data(t),
    )
}

#[test]
fn every_event_type_emitted_validates_against_its_schema() {
    let schemas = Schemas::load();
    for t in EventType::ALL {
        let env = envelope(&sample_event(t, "c-42", "acme"), "gw-1");
        schemas.check(&env).unwrap();
    }
}

#[test]
fn the_schemas_reject_what_consumers_could_not_use() {
    let schemas = Schemas::load();
    let good = envelope(&sample_event(EventType::CallEnded, "c-1", "acme"), "gw-1");
    let broken = [
        ("/type", json!("call.exploded")),
        ("/specversion", json!("0.3")),
        ("/time", json!("yesterday")),
        ("/data/tenant_id", Value::Null),
        ("/data/turns", json!(-1)),
    ];
    for (pointer, value) in broken {
        let mut bad = good.clone();
        *bad.pointer_mut(pointer).unwrap() = value;
        assert!(schemas.check(&bad).is_err(), "{pointer} accepted");
    }
    let mut missing = good.clone();
    missing["data"].as_object_mut().unwrap().remove("reason");
    assert!(
        schemas.check(&missing).is_err(),
        "call.ended without reason accepted"
    );
}
