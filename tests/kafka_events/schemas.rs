//! The JSON Schemas in `schemas/events/` against the envelopes the gateway emits.

use serde_json::{Value, json};
use std::{collections::HashMap, path::PathBuf};
use voice_gateway::{
    adapter::events::envelope,
    application::ports::events::CallEvent,
    domain::{CallId, TenantId, events::EventType},
};

/// The envelope schema and one `data` schema per event type, compiled.
pub(crate) struct Schemas {
    envelope: jsonschema::Validator,
    data: HashMap<String, jsonschema::Validator>,
}

impl Schemas {
    /// Loads every file of `schemas/events/`; panics if one is missing or invalid.
    pub(crate) fn load() -> Self {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schemas/events");
        let compile = |name: &str| {
            let text = std::fs::read_to_string(dir.join(name))
                .unwrap_or_else(|e| panic!("schemas/events/{name}: {e}"));
            let schema: Value = serde_json::from_str(&text).unwrap();
            jsonschema::options()
                .should_validate_formats(true)
                .build(&schema)
                .unwrap_or_else(|e| panic!("schemas/events/{name} does not compile: {e}"))
        };
        let data = EventType::ALL
            .iter()
            .map(|t| (t.as_str().to_owned(), compile(&format!("{t}.json"))))
            .collect();
        Self {
            envelope: compile("envelope.json"),
            data,
        }
    }

    /// Checks an emitted envelope and its `data` (by the envelope's `type`).
    pub(crate) fn check(&self, event: &Value) -> Result<(), String> {
        let errors = |v: &jsonschema::Validator, inst: &Value| {
            v.iter_errors(inst)
                .map(|e| format!("{} at {}", e, e.instance_path()))
                .collect::<Vec<_>>()
        };
        let mut all = errors(&self.envelope, event);
        let ty = event["type"].as_str().unwrap_or_default();
        match self.data.get(ty) {
            Some(v) => all.extend(errors(v, &event["data"])),
            None => all.push(format!("no schema for type {ty:?}")),
        }
        if all.is_empty() {
            Ok(())
        } else {
            Err(format!("{}: {}", event, all.join("; ")))
        }
    }
}

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
