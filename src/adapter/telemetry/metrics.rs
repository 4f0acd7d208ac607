//! Prometheus metrics, served as OpenMetrics text at `GET /metrics`.
//!
//! Values that already live elsewhere (live calls, readiness) are copied into
//! gauges at scrape time rather than updated on every change, so the call path
//! pays nothing for them.

use super::ProcessStats;
use crate::application::{
    admission::CallAdmission,
    health::{DependencyState, Readiness, ReadyStatus},
};
use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{counter::Counter, family::Family, gauge::Gauge, info::Info},
    registry::Registry,
};
use std::fmt::Write as _;

/// What the binary was built from.
#[derive(Debug, Clone)]
pub struct BuildInfo {
    /// Crate version.
    pub version: &'static str,
    /// Short git commit, or `unknown` outside a checkout.
    pub git_sha: &'static str,
}

impl BuildInfo {
    /// This binary's build.
    pub fn current() -> Self {
        Self {
            version: env!("CARGO_PKG_VERSION"),
            git_sha: env!("VOICEGW_GIT_SHA"),
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RefusedLabel {
    reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DependencyLabel {
    dependency: String,
}

/// The gateway's metric registry.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Mirrors [`CallAdmission::refused`] at each scrape.
    admission_refused: Family<RefusedLabel, Counter>,
    live_calls: Gauge,
    draining: Gauge,
    ready: Gauge,
    dependency_up: Family<DependencyLabel, Gauge>,
}

impl Metrics {
    /// Creates the registry with the build info.
    pub fn new(build: &BuildInfo) -> Self {
        let mut registry = Registry::with_prefix("voicegw");
        registry.register(
            "build",
            "Build of this gateway (value is always 1)",
            Info::new(vec![
                ("version".to_owned(), build.version.to_owned()),
                ("git_sha".to_owned(), build.git_sha.to_owned()),
            ]),
        );
        let live_calls = Gauge::default();
        registry.register(
            "live_calls",
            "Calls in progress on this instance",
            live_calls.clone(),
        );
        let draining = Gauge::default();
        registry.register(
            "draining",
            "1 while shutting down and refusing new calls",
            draining.clone(),
        );
        let ready = Gauge::default();
        registry.register("ready", "1 when /readyz answers 200", ready.clone());
        let dependency_up = Family::default();
        registry.register(
            "dependency_up",
            "1 when the dependency is reachable (degraded counts as up)",
            dependency_up.clone(),
        );
        let admission_refused = Family::default();
        registry.register(
            "admission_refused",
            "New calls refused by admission: draining, instance_cap, tenant_cap",
            admission_refused.clone(),
        );
        Self {
            registry,
            admission_refused,
            live_calls,
            draining,
            ready,
            dependency_up,
        }
    }

    /// The registry, for adapters that register their own metrics.
    pub fn registry_mut(&mut self) -> &mut Registry {
        &mut self.registry
    }

    /// Renders every metric, refreshing the scrape-time gauges first.
    pub fn render(&self, readiness: &Readiness, admission: &CallAdmission) -> String {
        let report = readiness.report_with(admission);
        for (reason, n) in admission.refused() {
            self.admission_refused
                .get_or_create(&RefusedLabel { reason })
                .inner()
                .store(n, std::sync::atomic::Ordering::Relaxed);
        }
        self.live_calls.set(admission.live_calls() as i64);
        self.draining.set(i64::from(admission.is_draining()));
        self.ready
            .set(i64::from(report.status == ReadyStatus::Ready));
        for (name, dep) in &report.dependencies {
            let up = matches!(
                dep.state,
                DependencyState::Up | DependencyState::Degraded { .. }
            );
            self.dependency_up
                .get_or_create(&DependencyLabel {
                    dependency: name.clone(),
                })
                .set(i64::from(up));
        }
        let mut out = String::with_capacity(4096);
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        // The encoder closes with `# EOF`; process metrics go before it.
        if out.ends_with("# EOF\n") {
            out.truncate(out.len() - "# EOF\n".len());
        }
        write_process(&mut out, &ProcessStats::read());
        out.push_str("# EOF\n");
        out
    }
}

/// Writes the standard `process_*` metrics (names as the Prometheus client libraries use).
fn write_process(out: &mut String, s: &ProcessStats) {
    let mut metric = |name: &str, kind: &str, help: &str, sample: &str, v: Option<f64>| {
        if let Some(v) = v {
            let _ = write!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{sample} {v}\n"
            );
        }
    };
    metric(
        "process_cpu_seconds",
        "counter",
        "Total user and system CPU time spent in seconds.",
        "process_cpu_seconds_total",
        s.cpu_seconds,
    );
    let f = |v: Option<u64>| v.map(|v| v as f64);
    metric(
        "process_resident_memory_bytes",
        "gauge",
        "Resident memory size in bytes.",
        "process_resident_memory_bytes",
        f(s.resident_bytes),
    );
    metric(
        "process_virtual_memory_bytes",
        "gauge",
        "Virtual memory size in bytes.",
        "process_virtual_memory_bytes",
        f(s.virtual_bytes),
    );
    metric(
        "process_open_fds",
        "gauge",
        "Number of open file descriptors.",
        "process_open_fds",
        f(s.open_fds),
    );
    metric(
        "process_max_fds",
        "gauge",
        "Maximum number of open file descriptors.",
        "process_max_fds",
        f(s.max_fds),
    );
    metric(
        "process_threads",
        "gauge",
        "Number of OS threads.",
        "process_threads",
        f(s.threads),
    );
    metric(
        "process_start_time_seconds",
        "gauge",
        "Start time of the process since unix epoch in seconds.",
        "process_start_time_seconds",
        s.start_time_seconds,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_build_calls_dependencies_and_process() {
        let m = Metrics::new(&BuildInfo {
            version: "1.2.3",
            git_sha: "abc",
        });
        let r = Readiness::default();
        r.set(
            "ari",
            DependencyState::Down {
                detail: "refused".into(),
            },
        );
        let a = CallAdmission::default();
        let _p = a.try_admit().unwrap();
        let text = m.render(&r, &a);
        assert!(
            text.contains("voicegw_build_info{version=\"1.2.3\",git_sha=\"abc\"} 1"),
            "{text}"
        );
        assert!(text.contains("voicegw_live_calls 1\n"), "{text}");
        assert!(
            text.contains("voicegw_dependency_up{dependency=\"ari\"} 0\n"),
            "{text}"
        );
        assert!(text.contains("voicegw_ready 0\n"));
        assert!(text.contains("process_cpu_seconds_total "), "{text}");
        assert!(text.ends_with("# EOF\n"));
        assert_eq!(text.matches("# EOF").count(), 1);
    }
}
