//! Helpers shared by the integration tests.

use std::time::Duration;
use voice_gateway::adapter::config::{Config, load_from_str};

/// A configuration for an in-process gateway: HTTP on a free port, ARI at an
/// address where nothing listens (port 1 on loopback refuses at once).
pub(crate) fn test_config(drain_deadline: &str) -> Config {
    let text = format!(
        "[http]\nlisten = \"127.0.0.1:0\"\n[ari]\nurl = \"http://127.0.0.1:1\"\nreconnect_max_delay = \"50ms\"\n\
         [lifecycle]\ndrain_deadline = \"{drain_deadline}\"\n[events]\npath = \"{events}\"\n\
         [speech]\nstt = \"fake\"\ntts = \"fake\"\n",
        events = events_path()
    );
    load_from_str(&text, Vec::new()).expect("test configuration is valid")
}

/// GETs a path and returns status and parsed JSON body (Null when not JSON).
pub(crate) async fn get_json(base: &str, path: &str) -> (u16, serde_json::Value) {
    let res = reqwest::get(format!("{base}{path}"))
        .await
        .expect("gateway answers");
    let code = res.status().as_u16();
    let body = res.json().await.unwrap_or(serde_json::Value::Null);
    (code, body)
}

/// Polls `path` until `pred` holds, failing after 10 s. Waits for a state, not a time.
pub(crate) async fn wait_for(
    base: &str,
    path: &str,
    pred: impl Fn(u16, &serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (code, body) = get_json(base, path).await;
        if pred(code, &body) {
            return body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{path} never matched; last {code} {body}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A fresh events file for one test, under cargo's scratch folder for
/// integration tests (inside target/, so nothing is left in /tmp).
pub(crate) fn events_path() -> String {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("voicegw-test-{}", uuid::Uuid::new_v4()));
    dir.join("events.jsonl").display().to_string()
}
