//! "Shape" comparison: same keys and JSON types, recursively; values (ids, timestamps) ignored.

use serde_json::Value;

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Appends every difference between the shapes of `rec` (recorded) and `act` (simulator).
/// Arrays compare their first elements when both have one (an empty array fits any array).
pub(crate) fn compare(rec: &Value, act: &Value, path: &str, errs: &mut Vec<String>) {
    if kind(rec) != kind(act) {
        errs.push(format!(
            "{path}: recorded {} vs simulated {}",
            kind(rec),
            kind(act)
        ));
        return;
    }
    match (rec, act) {
        (Value::Object(r), Value::Object(a)) => {
            for k in r.keys().filter(|k| !a.contains_key(*k)) {
                errs.push(format!("{path}.{k}: missing in simulator"));
            }
            for k in a.keys().filter(|k| !r.contains_key(*k)) {
                errs.push(format!("{path}.{k}: extra in simulator"));
            }
            for (k, rv) in r {
                if let Some(av) = a.get(k) {
                    compare(rv, av, &format!("{path}.{k}"), errs);
                }
            }
        }
        (Value::Array(r), Value::Array(a)) => {
            if let (Some(rv), Some(av)) = (r.first(), a.first()) {
                compare(rv, av, &format!("{path}[0]"), errs);
            }
        }
        _ => {}
    }
}

/// Learns recorded → simulated ids from two same-shaped values (every `id` key).
pub(crate) fn learn_ids(
    rec: &Value,
    act: &Value,
    map: &mut std::collections::HashMap<String, String>,
) {
    match (rec, act) {
        (Value::Object(r), Value::Object(a)) => {
            for (k, rv) in r {
                let Some(av) = a.get(k) else { continue };
                if k == "id" {
                    if let (Some(rs), Some(as_)) = (rv.as_str(), av.as_str()) {
                        map.entry(rs.to_string()).or_insert_with(|| as_.to_string());
                    }
                } else {
                    learn_ids(rv, av, map);
                }
            }
        }
        (Value::Array(r), Value::Array(a)) if r.len() == a.len() => {
            for (rv, av) in r.iter().zip(a) {
                learn_ids(rv, av, map);
            }
        }
        _ => {}
    }
}

#[test]
fn shape_compare_basics() {
    use serde_json::json;
    let mut e = Vec::new();
    compare(
        &json!({"a": 1, "b": ["x"]}),
        &json!({"a": 2, "b": []}),
        "$",
        &mut e,
    );
    assert!(e.is_empty(), "{e:?}");
    compare(&json!({"a": 1}), &json!({"a": "1", "c": null}), "$", &mut e);
    assert_eq!(e.len(), 2, "{e:?}");
}
