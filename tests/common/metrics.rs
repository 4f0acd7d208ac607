//! Reading the gateway's `/metrics`, shared by the integration test binaries
//! (each includes this file with `#[path]`).

/// A metric's value from `/metrics` (0 when absent). `name` includes the
/// labels as printed, e.g. `voicegw_calls_ended_total{reason="caller_hangup"}`.
pub(crate) async fn metric(base: &str, name: &str) -> f64 {
    let text = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok()))
        .unwrap_or(0.0)
}
