//! The plot of the report, written by hand: two panels sharing the x axis
//! (concurrent calls, one tick per step): CPU per call and p99 jitter, each
//! with its target as a dashed line.

use std::fmt::Write as _;

use serde_json::Value;

const W: f64 = 360.0;
const H: f64 = 240.0;
const PAD: f64 = 48.0;

/// One panel: a polyline of `(label, value)` with a dashed `target` line.
fn panel(out: &mut String, x0: f64, title: &str, pts: &[(String, f64)], target: f64) {
    let top = pts.iter().map(|p| p.1).fold(target, f64::max) * 1.15;
    let (pw, ph) = (W - 2.0 * PAD, H - 2.0 * PAD);
    let x = |i: usize| x0 + PAD + pw * (i as f64 + 0.5) / pts.len().max(1) as f64;
    let y = |v: f64| PAD + ph * (1.0 - v / top);
    let _ = writeln!(
        out,
        r#"<text x="{}" y="24" text-anchor="middle" font-weight="bold">{title}</text>"#,
        x0 + W / 2.0
    );
    let _ = writeln!(
        out,
        r##"<rect x="{}" y="{PAD}" width="{pw}" height="{ph}" fill="none" stroke="#888"/>"##,
        x0 + PAD
    );
    for k in 0..=4 {
        let v = top * f64::from(k) / 4.0;
        let _ = writeln!(
            out,
            r#"<text x="{}" y="{:.1}" text-anchor="end" font-size="10">{}</text>"#,
            x0 + PAD - 4.0,
            y(v) + 3.0,
            fmt(v)
        );
    }
    let _ = writeln!(
        out,
        r##"<line x1="{}" x2="{}" y1="{t:.1}" y2="{t:.1}" stroke="#c33" stroke-dasharray="5,4"/><text x="{}" y="{:.1}" font-size="10" fill="#c33" text-anchor="end">target {}</text>"##,
        x0 + PAD,
        x0 + PAD + pw,
        x0 + PAD + pw - 2.0,
        y(target) - 4.0,
        fmt(target),
        t = y(target)
    );
    let line: Vec<String> = pts
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{:.1},{:.1}", x(i), y(p.1)))
        .collect();
    let _ = writeln!(
        out,
        r##"<polyline points="{}" fill="none" stroke="#2364aa" stroke-width="2"/>"##,
        line.join(" ")
    );
    for (i, (label, v)) in pts.iter().enumerate() {
        let _ = writeln!(
            out,
            r##"<circle cx="{:.1}" cy="{:.1}" r="3" fill="#2364aa"/><text x="{:.1}" y="{}" text-anchor="middle" font-size="10">{label}</text>"##,
            x(i),
            y(*v),
            x(i),
            H - PAD + 14.0
        );
    }
    let _ = writeln!(
        out,
        r#"<text x="{}" y="{}" text-anchor="middle" font-size="11">concurrent calls</text>"#,
        x0 + W / 2.0,
        H - 12.0
    );
}

fn fmt(v: f64) -> String {
    if v >= 10.0 {
        format!("{v:.0}")
    } else if v >= 0.1 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// The SVG document for the steps.
pub(crate) fn plot(steps: &[Value]) -> String {
    let series = |ptr: &str| -> Vec<(String, f64)> {
        steps
            .iter()
            .map(|s| {
                (
                    s["calls"].to_string(),
                    s.pointer(ptr).and_then(Value::as_f64).unwrap_or(0.0),
                )
            })
            .collect()
    };
    let mut out = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{H}" font-family="sans-serif" font-size="12">"#,
        2.0 * W
    );
    out.push('\n');
    out.push_str(r#"<rect width="100%" height="100%" fill="white"/>"#);
    out.push('\n');
    panel(
        &mut out,
        0.0,
        "gateway CPU per call (% of one core)",
        &series("/gateway/cpu_per_call_pct_of_core"),
        0.1,
    );
    panel(
        &mut out,
        W,
        "outbound pacing jitter p99 (ms)",
        &series("/jitter_grid/p99_ms"),
        5.0,
    );
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_plot_has_a_point_per_step_in_each_panel() {
        let steps = vec![
            json!({"calls": 100, "gateway": {"cpu_per_call_pct_of_core": 0.04}, "jitter_grid": {"p99_ms": 0.5}}),
            json!({"calls": 500, "gateway": {"cpu_per_call_pct_of_core": 0.05}, "jitter_grid": {"p99_ms": 7.5}}),
        ];
        let svg = plot(&steps);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
        assert_eq!(svg.matches("<circle").count(), 4);
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(
            svg.contains(">500</text>") && svg.contains("target 5.00"),
            "{svg}"
        );
    }
}
