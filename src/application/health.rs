//! Readiness: what this instance depends on and whether each is reachable now.
//!
//! Adapters report their dependency's state; `/readyz` reads a snapshot. The
//! instance is ready only when every *required* dependency is up and it is not
//! draining. Not on a hot path: a plain lock is fine.

use super::admission::CallAdmission;
use serde::Serialize;
use std::{collections::BTreeMap, sync::RwLock};

/// The state of one dependency as last observed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum DependencyState {
    /// Not checked yet.
    Unknown,
    /// Reachable and working.
    Up,
    /// Working with reduced guarantees (e.g. Redis lost, state kept in memory).
    Degraded {
        /// Why, for the operator.
        detail: String,
    },
    /// Not reachable.
    Down {
        /// Why, for the operator.
        detail: String,
    },
}

/// One dependency in a readiness report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DependencyReport {
    /// Whether the instance is unready while this dependency is down.
    pub required: bool,
    /// The last observed state.
    #[serde(flatten)]
    pub state: DependencyState,
}

/// Overall readiness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadyStatus {
    /// Takes new calls.
    Ready,
    /// A required dependency is not up.
    NotReady,
    /// Shutting down: no new calls, live calls finishing.
    Draining,
    /// Up, but at the high-water mark of live calls: send no more calls here
    /// (calls are still admitted up to the cap).
    AtCapacity,
}

/// What `/readyz` returns.
#[derive(Debug, Clone, Serialize)]
pub struct ReadinessReport {
    /// Overall status.
    pub status: ReadyStatus,
    /// Each dependency by name.
    pub dependencies: BTreeMap<String, DependencyReport>,
    /// `active` or `standby` with `[ha] enabled` (a standby is ready for the
    /// API, not for calls: it does not hold the Asterisk's events socket).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<&'static str>,
    /// Live calls and the high-water mark, when the report was made with
    /// [`Readiness::report_with`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calls: Option<CallsReport>,
}

/// The live-call part of a readiness report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CallsReport {
    /// Calls in progress.
    pub live: usize,
    /// At this many `/readyz` asks for no more.
    pub high_water: usize,
    /// More are refused.
    pub max: usize,
}

/// The registry of dependencies and the draining flag.
#[derive(Debug, Default)]
pub struct Readiness {
    inner: RwLock<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    draining: bool,
    role: Option<&'static str>,
    deps: BTreeMap<String, DependencyReport>,
}

impl Readiness {
    /// Declares a dependency, initially [`DependencyState::Unknown`] (which counts as not up).
    pub fn register(&self, name: &str, required: bool) {
        let mut inner = self.inner.write().expect("readiness lock poisoned");
        inner.deps.insert(
            name.to_owned(),
            DependencyReport {
                required,
                state: DependencyState::Unknown,
            },
        );
    }

    /// Records a dependency's state. Undeclared names are declared as required.
    pub fn set(&self, name: &str, state: DependencyState) {
        let mut inner = self.inner.write().expect("readiness lock poisoned");
        inner
            .deps
            .entry(name.to_owned())
            .or_insert(DependencyReport {
                required: true,
                state: DependencyState::Unknown,
            })
            .state = state;
    }

    /// Records the instance's high-availability role (`None`: not in a pair).
    pub fn set_role(&self, role: Option<&'static str>) {
        self.inner.write().expect("readiness lock poisoned").role = role;
    }

    /// Marks the instance as draining: not ready from now on, whatever the dependencies say.
    pub fn begin_drain(&self) {
        self.inner
            .write()
            .expect("readiness lock poisoned")
            .draining = true;
    }

    /// The current report.
    pub fn report(&self) -> ReadinessReport {
        let inner = self.inner.read().expect("readiness lock poisoned");
        let all_up = inner.deps.values().all(|d| {
            !d.required
                || matches!(
                    d.state,
                    DependencyState::Up | DependencyState::Degraded { .. }
                )
        });
        let status = if inner.draining {
            ReadyStatus::Draining
        } else if all_up {
            ReadyStatus::Ready
        } else {
            ReadyStatus::NotReady
        };
        ReadinessReport {
            status,
            dependencies: inner.deps.clone(),
            role: inner.role,
            calls: None,
        }
    }

    /// [`Readiness::report`] plus the live calls: at the high-water mark a
    /// ready instance reports [`ReadyStatus::AtCapacity`], so a load balancer
    /// sends its calls elsewhere before the cap refuses them.
    pub fn report_with(&self, admission: &CallAdmission) -> ReadinessReport {
        let mut report = self.report();
        if report.status == ReadyStatus::Ready && admission.is_saturated() {
            report.status = ReadyStatus::AtCapacity;
        }
        let limits = admission.limits();
        report.calls = Some(CallsReport {
            live: admission.live_calls(),
            high_water: limits.high_water,
            max: limits.max_live_calls,
        });
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_only_when_required_dependencies_are_up() {
        let r = Readiness::default();
        assert_eq!(
            r.report().status,
            ReadyStatus::Ready,
            "nothing declared yet"
        );
        r.register("ari", true);
        r.register("kafka", false);
        assert_eq!(
            r.report().status,
            ReadyStatus::NotReady,
            "unknown is not up"
        );
        r.set("ari", DependencyState::Up);
        r.set(
            "kafka",
            DependencyState::Down {
                detail: "refused".into(),
            },
        );
        assert_eq!(
            r.report().status,
            ReadyStatus::Ready,
            "optional down is fine"
        );
        r.set(
            "ari",
            DependencyState::Degraded {
                detail: "slow".into(),
            },
        );
        assert_eq!(r.report().status, ReadyStatus::Ready);
        r.set(
            "ari",
            DependencyState::Down {
                detail: "connection refused".into(),
            },
        );
        assert_eq!(r.report().status, ReadyStatus::NotReady);
    }

    #[test]
    fn draining_wins_over_everything() {
        let r = Readiness::default();
        r.set("ari", DependencyState::Up);
        r.begin_drain();
        assert_eq!(r.report().status, ReadyStatus::Draining);
    }

    #[test]
    fn report_serialises_each_dependency() {
        let r = Readiness::default();
        r.set(
            "ari",
            DependencyState::Down {
                detail: "refused".into(),
            },
        );
        let json = serde_json::to_value(r.report()).unwrap();
        assert_eq!(json["status"], "not_ready");
        assert_eq!(json["dependencies"]["ari"]["state"], "down");
        assert_eq!(json["dependencies"]["ari"]["detail"], "refused");
        assert_eq!(json["dependencies"]["ari"]["required"], true);
    }
}
