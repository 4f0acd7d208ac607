//! Turning samples into the figures a step reports, and the pass/fail rule.

use serde_json::{Value, json};

/// Nearest-rank percentile of `v` (sorted in place); 0 when empty.
pub(crate) fn percentile(v: &mut [f64], q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let rank = ((q.clamp(0.0, 1.0) * v.len() as f64).ceil() as usize).max(1);
    v[rank - 1]
}

/// `{count, p50, p99, max}` of some samples in ms, rounded to 0.01 ms.
pub(crate) fn summary(mut v: Vec<f64>) -> Value {
    let max = v.iter().copied().fold(0.0, f64::max);
    json!({
        "count": v.len(),
        "p50_ms": round2(percentile(&mut v, 0.50)),
        "p99_ms": round2(percentile(&mut v, 0.99)),
        "max_ms": round2(max),
    })
}

pub(crate) fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The targets of DESIGN.md a step must meet.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Targets {
    pub(crate) jitter_p99_ms: f64,
    pub(crate) barge_in_p99_ms: f64,
}

impl Default for Targets {
    fn default() -> Self {
        Self {
            jitter_p99_ms: 5.0,
            barge_in_p99_ms: 150.0,
        }
    }
}

/// Which targets a step misses (empty: it passes). `step` is the step's JSON.
pub(crate) fn misses(step: &Value, t: Targets) -> Vec<String> {
    let f = |p: &str| step.pointer(p).and_then(Value::as_f64).unwrap_or(f64::NAN);
    let mut out = Vec::new();
    let jitter = f("/jitter_grid/p99_ms");
    if jitter.is_nan() || jitter >= t.jitter_p99_ms {
        out.push(format!(
            "pacing jitter p99 {jitter} ms ≥ {} ms",
            t.jitter_p99_ms
        ));
    }
    let lost = f("/loss/gateway_lost");
    if lost.is_nan() || lost > 0.0 {
        out.push(format!("{lost} packets/frames lost in the gateway"));
    }
    let barge = f("/barge_in/p99_ms");
    let barges = f("/barge_in/count");
    if barges.is_nan() || barges < 1.0 {
        out.push("no barge-in measured".into());
    } else if barge >= t.barge_in_p99_ms {
        out.push(format!(
            "barge-in p99 {barge} ms ≥ {} ms",
            t.barge_in_p99_ms
        ));
    }
    let calls = f("/calls");
    let live = f("/calls_live");
    if live < calls {
        out.push(format!("only {live} of {calls} calls up"));
    }
    out
}

/// The highest step (by calls) that passes, 0 when none does.
pub(crate) fn highest_passing(steps: &[Value]) -> u64 {
    steps
        .iter()
        .filter(|s| s["pass"] == true)
        .filter_map(|s| s["calls"].as_u64())
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut v: Vec<f64> = (1..=100).rev().map(f64::from).collect();
        assert_eq!(percentile(&mut v, 0.5), 50.0);
        assert_eq!(percentile(&mut v, 0.99), 99.0);
        assert_eq!(percentile(&mut v, 1.0), 100.0);
        assert_eq!(percentile(&mut [], 0.5), 0.0);
        assert_eq!(percentile(&mut [7.0], 0.01), 7.0);
        assert_eq!(summary(vec![1.0, 3.0])["max_ms"], 3.0);
    }

    fn step(calls: u64, jitter: f64, lost: u64, barge: f64) -> Value {
        json!({
            "calls": calls, "calls_live": calls,
            "jitter_grid": {"p99_ms": jitter},
            "loss": {"gateway_lost": lost},
            "barge_in": {"count": 10, "p99_ms": barge},
        })
    }

    #[test]
    fn a_step_passes_only_within_every_target() {
        let t = Targets::default();
        assert!(misses(&step(100, 1.2, 0, 60.0), t).is_empty());
        let m = misses(&step(100, 5.0, 3, 150.0), t);
        assert_eq!(m.len(), 3, "{m:?}");
        assert!(m[0].contains("jitter") && m[1].contains("lost") && m[2].contains("barge"));
        let mut down = step(100, 1.0, 0, 10.0);
        down["calls_live"] = json!(90);
        assert_eq!(misses(&down, t), vec!["only 90 of 100 calls up"]);
        assert_eq!(misses(&json!({}), t).len(), 3);

        let mut steps = vec![
            step(100, 1.0, 0, 1.0),
            step(500, 1.0, 0, 1.0),
            step(1000, 9.0, 0, 1.0),
        ];
        for s in &mut steps {
            s["pass"] = json!(misses(s, t).is_empty());
        }
        assert_eq!(highest_passing(&steps), 500);
        assert_eq!(highest_passing(&[]), 0);
    }
}
