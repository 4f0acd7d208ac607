//! The JSON Schemas in `schemas/events/`, compiled, shared by the integration
//! test binaries that check what the gateway emits (each includes this file
//! with `#[path]`).

use serde_json::Value;
use std::{collections::HashMap, path::PathBuf};
use voice_gateway::domain::events::EventType;

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
