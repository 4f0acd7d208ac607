//! CloudEvents 1.0, structured JSON mode.

use crate::application::ports::events::CallEvent;
use serde_json::{Value, json};

/// Version of the `data` schemas; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// The envelope of one event: `id` (unique, for de-duplication), `source` (the
/// instance), `type` (from the catalog), `subject` (the call id), `time`
/// (RFC 3339, UTC), `dataschema`, and `data` carrying the tenant id, the call id
/// and the schema version beside the event's own fields; and the extension
/// attribute `sequence`, the event's place among its call's events (an
/// integer from 1, continued across a takeover), when it has one.
pub fn envelope(event: &CallEvent, source: &str) -> Value {
    let mut data = match &event.data {
        Value::Object(m) => m.clone(),
        Value::Null => serde_json::Map::new(),
        other => {
            let mut m = serde_json::Map::new();
            m.insert("value".into(), other.clone());
            m
        }
    };
    data.insert("tenant_id".into(), json!(event.tenant_id));
    data.insert("call_id".into(), json!(event.call_id));
    data.insert("schema_version".into(), json!(SCHEMA_VERSION));
    let mut envelope = json!({
        "specversion": "1.0",
        "id": event.id,
        "source": source,
        "type": event.event_type.as_str(),
        "subject": event.call_id,
        "time": humantime::format_rfc3339_millis(event.time).to_string(),
        "datacontenttype": "application/json",
        "dataschema": format!("urn:voice-gateway:schema:{}:v{SCHEMA_VERSION}", event.event_type.as_str()),
        "data": data,
    });
    if let Some(n) = event.sequence {
        envelope["sequence"] = json!(n);
    }
    envelope
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CallId, TenantId, events::EventType};
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn carries_the_required_attributes() {
        let ev = CallEvent::new(
            EventType::CallEnded,
            CallId::parse("c-1").unwrap(),
            TenantId::parse("acme").unwrap(),
            UNIX_EPOCH + Duration::from_millis(1_790_000_000_123),
            json!({"reason": "caller_hangup", "tenant_id": "spoofed"}),
        );
        let e = envelope(&ev, "gw-1");
        assert_eq!(e["specversion"], "1.0");
        assert_eq!(e["type"], "call.ended");
        assert_eq!(e["subject"], "c-1");
        assert_eq!(e["source"], "gw-1");
        assert_eq!(e["time"], "2026-09-21T14:13:20.123Z");
        assert_eq!(
            e["data"]["tenant_id"], "acme",
            "the event's tenant wins over data"
        );
        assert_eq!(e["data"]["reason"], "caller_hangup");
        assert_eq!(e["data"]["schema_version"], 1);
        assert_eq!(e["id"].as_str().unwrap().len(), 36);
        let other = CallEvent::new(
            EventType::CallEnded,
            ev.call_id.clone(),
            ev.tenant_id.clone(),
            ev.time,
            json!({}),
        );
        assert_ne!(other.id, ev.id, "ids are unique");
        assert!(e.get("sequence").is_none(), "unnumbered: no attribute");
        assert_eq!(envelope(&other.numbered(7), "gw-1")["sequence"], 7);
    }
}
