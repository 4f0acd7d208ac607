//! A gateway binary run as a child process, shared by the integration test
//! binaries that start one (each includes this file with `#[path]`).

use std::io::{BufRead, BufReader, Lines};
use std::process::{Child, ChildStderr};

/// Reads the child's JSON log (its stderr, piped) up to the start line and
/// returns the HTTP address it bound (port 0 may have been asked for) with
/// the rest of the log, which the caller must keep reading.
pub(crate) fn started_at(child: &mut Child) -> (String, Lines<BufReader<ChildStderr>>) {
    let mut lines = BufReader::new(child.stderr.take().expect("stderr piped")).lines();
    let addr = loop {
        let line = lines.next().expect("gateway logs a start line").unwrap();
        let v: serde_json::Value = serde_json::from_str(&line).expect("json log lines");
        if v["message"] == "voice-gateway started" {
            break v["http"].as_str().unwrap().to_owned();
        }
    };
    (addr, lines)
}
