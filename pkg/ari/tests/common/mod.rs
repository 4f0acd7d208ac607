//! Loading the recorded Asterisk fixtures shared by the tests.

#![allow(dead_code)] // each test binary uses a different subset

use std::path::PathBuf;

use serde_json::Value;

/// One fixture file.
pub(crate) struct Fixture {
    pub(crate) name: String,
    pub(crate) steps: Vec<Value>,
}

/// `ARI_FIXTURES_DIR`, or `tests/fixtures/ari-fixtures` (copied from `shared/ari-fixtures`). A missing
/// folder fails the test: these tests must never pass by finding nothing.
pub(crate) fn fixtures_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("ARI_FIXTURES_DIR") {
        return PathBuf::from(dir);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/ari-fixtures")
}

pub(crate) fn load_fixtures() -> Vec<Fixture> {
    let dir = fixtures_dir();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("fixtures folder {} unreadable: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 15,
        "expected the recorded fixture files in {}",
        dir.display()
    );
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("read fixture");
            let mut doc: Value = serde_json::from_str(&text).expect("fixture is JSON");
            let steps = match doc["steps"].take() {
                Value::Array(steps) => steps,
                other => panic!("{}: steps is not an array: {other}", path.display()),
            };
            Fixture {
                name: path.file_name().unwrap().to_string_lossy().into_owned(),
                steps,
            }
        })
        .collect()
}

/// Every `event` step's JSON, with the file it came from.
pub(crate) fn fixture_events() -> Vec<(String, Value)> {
    load_fixtures()
        .into_iter()
        .flat_map(|f| {
            let name = f.name;
            f.steps
                .into_iter()
                .filter(|s| s["kind"] == "event")
                .map(move |mut s| (name.clone(), s["event"].take()))
        })
        .collect()
}
