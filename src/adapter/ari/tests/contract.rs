//! Every request the client can make names a path, method and parameters that exist
//! in Asterisk 20.20.1's Swagger description (`tests/fixtures/ari-api-docs`), and every enum
//! value it sends is one Swagger allows.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_json::Value;

use crate::adapter::ari::spec::{ALL_REQUESTS, HttpMethod, RequestSpec};
use crate::adapter::ari::{HangupReason, IfExists, SnoopDirection, TerminateOn};

#[derive(Debug)]
struct Param {
    param_type: String,
    required: bool,
    allowed: Option<Vec<String>>,
}

/// (method, path) → parameters by name.
type Operations = BTreeMap<(String, String), BTreeMap<String, Param>>;

fn api_docs_dir() -> PathBuf {
    std::env::var_os("ARI_API_DOCS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ari-api-docs")
        })
}

fn swagger() -> Operations {
    let dir = api_docs_dir();
    let mut ops = Operations::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|x| x != "json") {
            continue;
        }
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for api in doc["apis"].as_array().into_iter().flatten() {
            let api_path = api["path"].as_str().unwrap().to_owned();
            // resources.json lists the other files: apis without operations.
            for op in api["operations"].as_array().into_iter().flatten() {
                let params = op["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|p| {
                        let allowed = p["allowableValues"]["values"].as_array().map(|vs| {
                            vs.iter()
                                .filter_map(|v| v.as_str().map(str::to_owned))
                                .collect()
                        });
                        let param = Param {
                            param_type: p["paramType"].as_str().unwrap().to_owned(),
                            required: p["required"].as_bool().unwrap_or(false),
                            allowed,
                        };
                        (p["name"].as_str().unwrap().to_owned(), param)
                    })
                    .collect();
                let method = op["httpMethod"].as_str().unwrap().to_owned();
                ops.insert((method, api_path.clone()), params);
            }
        }
    }
    assert!(
        ops.len() > 80,
        "only {} operations in {}",
        ops.len(),
        dir.display()
    );
    ops
}

/// Checks one spec; returns what is wrong with it.
fn check(ops: &Operations, spec: &RequestSpec) -> Result<(), String> {
    let key = (
        spec.method.as_str().to_owned(),
        spec.path_template.to_owned(),
    );
    let params = ops
        .get(&key)
        .ok_or_else(|| format!("{}: no {} {} in Swagger", spec.name, key.0, key.1))?;
    let expect = |name: &str, kind: &str| match params.get(name) {
        Some(p) if p.param_type == kind => Ok(()),
        Some(p) => Err(format!(
            "{}: `{name}` is a {} parameter, not {kind}",
            spec.name, p.param_type
        )),
        None => Err(format!("{}: no parameter `{name}`", spec.name)),
    };
    for name in spec.path_params() {
        expect(name, "path")?;
    }
    for name in spec.query_params {
        expect(name, "query")?;
    }
    for name in spec.body_params {
        expect(name, "body")?;
    }
    // Every parameter Asterisk requires must be one the client can send.
    for (name, p) in params {
        let declared = match p.param_type.as_str() {
            "path" => spec.path_params().any(|n| n == name),
            "query" => spec.query_params.contains(&name.as_str()),
            "body" => spec.body_params.contains(&name.as_str()),
            _ => false,
        };
        if p.required && !declared {
            return Err(format!("{}: required `{name}` cannot be sent", spec.name));
        }
    }
    Ok(())
}

#[test]
fn every_request_the_client_can_make_exists_in_swagger() {
    let ops = swagger();
    let errors: Vec<String> = ALL_REQUESTS
        .iter()
        .filter_map(|s| check(&ops, s).err())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn the_checker_rejects_what_swagger_does_not_have() {
    let ops = swagger();
    let base = RequestSpec {
        name: "test",
        method: HttpMethod::Post,
        path_template: "/channels/{channelId}/answer",
        query_params: &[],
        body_params: &[],
    };
    assert!(check(&ops, &base).is_ok());
    for bad in [
        RequestSpec {
            path_template: "/channels/{channelId}/answr",
            ..base
        },
        RequestSpec {
            method: HttpMethod::Get,
            ..base
        },
        RequestSpec {
            query_params: &["reason"],
            ..base
        },
        RequestSpec {
            path_template: "/channels/{id}/answer",
            ..base
        },
        // `variables` exists on originate, but as a body parameter.
        RequestSpec {
            path_template: "/channels",
            query_params: &["endpoint", "variables"],
            ..base
        },
        // originate without its required endpoint.
        RequestSpec {
            path_template: "/channels",
            query_params: &["app"],
            ..base
        },
    ] {
        assert!(check(&ops, &bad).is_err(), "{bad:?} passed");
    }
}

#[test]
fn spec_names_and_routes_are_unique() {
    let names: BTreeSet<_> = ALL_REQUESTS.iter().map(|s| s.name).collect();
    assert_eq!(names.len(), ALL_REQUESTS.len());
    let routes: BTreeSet<_> = ALL_REQUESTS
        .iter()
        .map(|s| (s.method.as_str(), s.path_template))
        .collect();
    assert_eq!(routes.len(), ALL_REQUESTS.len());
}

fn allowed(ops: &Operations, method: &str, path: &str, param: &str) -> Vec<String> {
    ops[&(method.to_owned(), path.to_owned())][param]
        .allowed
        .clone()
        .unwrap_or_else(|| panic!("{method} {path} {param} has no allowableValues"))
}

fn assert_subset(ours: &[&str], theirs: &[String], what: &str) {
    for v in ours {
        assert!(
            theirs.iter().any(|t| t == v),
            "{what}: `{v}` not in {theirs:?}"
        );
    }
}

#[test]
fn enum_values_the_client_sends_are_allowed_by_swagger() {
    let ops = swagger();
    let reasons: Vec<&str> = HangupReason::ALL.iter().map(|r| r.as_str()).collect();
    let theirs = allowed(&ops, "DELETE", "/channels/{channelId}", "reason");
    assert_subset(&reasons, &theirs, "hangup reason");
    assert_eq!(reasons.len(), theirs.len(), "a hangup reason is missing");

    let dirs: Vec<&str> = SnoopDirection::ALL.iter().map(|d| d.as_str()).collect();
    for p in ["spy", "whisper"] {
        assert_subset(
            &dirs,
            &allowed(&ops, "POST", "/channels/{channelId}/snoop", p),
            p,
        );
    }
    for path in ["/channels/{channelId}/record", "/bridges/{bridgeId}/record"] {
        let ifx: Vec<&str> = IfExists::ALL.iter().map(|v| v.as_str()).collect();
        assert_subset(&ifx, &allowed(&ops, "POST", path, "ifExists"), "ifExists");
        let term: Vec<&str> = TerminateOn::ALL.iter().map(|v| v.as_str()).collect();
        assert_subset(
            &term,
            &allowed(&ops, "POST", path, "terminateOn"),
            "terminateOn",
        );
    }
    let em = "/channels/externalMedia";
    assert_subset(
        &["rtp", "audiosocket", "none"],
        &allowed(&ops, "POST", em, "encapsulation"),
        "encapsulation",
    );
    assert_subset(
        &["udp", "tcp", "websocket"],
        &allowed(&ops, "POST", em, "transport"),
        "transport",
    );
    assert_subset(
        &["server", "client"],
        &allowed(&ops, "POST", em, "connection_type"),
        "connection_type",
    );
}
