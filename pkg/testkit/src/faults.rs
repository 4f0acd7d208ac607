//! The fault-injection suite's bookkeeping: what one scenario delivered and
//! lost, and how a full run (`make bench-faults`) gathers the scenarios into
//! `bench/results/<date>-faults.{json,md}`.
//!
//! A scenario runs small in `make test` and at full size when `VG_FAULTS=full`.
//! Each one ends with [`Outcome::check`], which fails the test when a call or
//! an event was lost and, in a full run, writes the outcome as one fragment
//! (`$VG_FAULTS_OUT/<name>.json`); `faults-report` merges the fragments.
//!
//! ```no_run
//! use vg_testkit::faults::{Outcome, Scale, Tally};
//! let scale = Scale::from_env();
//! let calls = scale.pick(10, 100);
//! let mut tally = Tally::default();
//! // ... run `calls` calls under the fault, feed every event read back from Kafka:
//! // tally.add(&event);
//! let outcome = tally.outcome("kafka-stopped-60s", calls, /* events expected */ 0);
//! outcome.check();
//! ```

use std::{
    collections::{HashMap, HashSet},
    fmt::Write as _,
    path::{Path, PathBuf},
};

use serde_json::{Value, json};

/// How big a scenario runs: small in `make test`, full in `make bench-faults`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// A few calls, seconds long: the version in `make test`.
    Small,
    /// The sizes of the issue (100+ concurrent calls on the simulator, 10 on
    /// the real Asterisk, 10,000 events): `VG_FAULTS=full`.
    Full,
}

impl Scale {
    /// `Full` when `VG_FAULTS=full`, else `Small`.
    pub fn from_env() -> Scale {
        match std::env::var("VG_FAULTS").as_deref() {
            Ok("full") => Scale::Full,
            _ => Scale::Small,
        }
    }

    /// `small` or `full`, by scale.
    pub fn pick<T>(self, small: T, full: T) -> T {
        match self {
            Scale::Small => small,
            Scale::Full => full,
        }
    }
}

/// One scenario's result, as `bench/results/<date>-faults.json` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Short, stable name (`events-socket-cut-100x`); also the fragment's file name.
    pub name: String,
    /// Calls placed under the fault.
    pub calls: u64,
    /// Distinct events the calls should have produced.
    pub events_expected: u64,
    /// Distinct event ids read back from the broker.
    pub events_delivered: u64,
    /// Calls without a `call.ended` (or otherwise never settled).
    pub calls_lost: u64,
    /// Extra copies of an event id read back (Kafka's at-least-once).
    pub duplicates: u64,
    /// What the fault was and what happened, in a sentence or two.
    pub notes: String,
}

impl Outcome {
    /// The outcome as the results file lists it.
    pub fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "calls": self.calls,
            "events_expected": self.events_expected,
            "events_delivered": self.events_delivered,
            "calls_lost": self.calls_lost,
            "duplicates": self.duplicates,
            "notes": self.notes,
        })
    }

    /// Reads an outcome back from its JSON.
    pub fn from_json(v: &Value) -> Option<Outcome> {
        let n = |k: &str| v.get(k).and_then(Value::as_u64);
        Some(Outcome {
            name: v.get("name")?.as_str()?.to_owned(),
            calls: n("calls")?,
            events_expected: n("events_expected")?,
            events_delivered: n("events_delivered")?,
            calls_lost: n("calls_lost")?,
            duplicates: n("duplicates")?,
            notes: v.get("notes")?.as_str()?.to_owned(),
        })
    }

    /// With a note added.
    pub fn note(mut self, notes: impl Into<String>) -> Outcome {
        self.notes = notes.into();
        self
    }

    /// Nothing lost: every expected event delivered, every call ended.
    pub fn is_whole(&self) -> bool {
        self.calls_lost == 0 && self.events_delivered == self.events_expected
    }

    /// Prints the outcome, records it in a full run, then panics if anything
    /// was lost (so the scenario's test fails, in `make test` as in the bench).
    pub fn check(self) {
        eprintln!("fault scenario {}", self.to_json());
        if let Some(dir) = std::env::var_os("VG_FAULTS_OUT") {
            let dir = PathBuf::from(dir);
            std::fs::create_dir_all(&dir).expect("VG_FAULTS_OUT is writable");
            let path = dir.join(format!("{}.json", self.name));
            std::fs::write(&path, self.to_json().to_string()).expect("fragment written");
        }
        assert!(
            self.is_whole(),
            "scenario {} lost something: {} of {} events delivered, {} calls lost ({})",
            self.name,
            self.events_delivered,
            self.events_expected,
            self.calls_lost,
            self.notes
        );
    }
}

/// Counts the events read back: distinct ids, duplicates, and which calls ended.
#[derive(Debug, Default)]
pub struct Tally {
    copies: HashMap<String, u64>,
    ended: HashSet<String>,
    calls: HashSet<String>,
}

impl Tally {
    /// Counts one event (the envelope: `id`, `type`, `data.call_id`).
    /// Returns false (and counts nothing) for a value that is not an event.
    pub fn add(&mut self, event: &Value) -> bool {
        let Some(id) = event.get("id").and_then(Value::as_str) else {
            return false;
        };
        *self.copies.entry(id.to_owned()).or_default() += 1;
        let call = event.pointer("/data/call_id").and_then(Value::as_str);
        if let Some(call) = call {
            self.calls.insert(call.to_owned());
            if event.get("type").and_then(Value::as_str) == Some("call.ended") {
                self.ended.insert(call.to_owned());
            }
        }
        true
    }

    /// Distinct event ids seen.
    pub fn delivered(&self) -> u64 {
        self.copies.len() as u64
    }

    /// Copies beyond the first of each id.
    pub fn duplicates(&self) -> u64 {
        self.copies.values().map(|n| n - 1).sum()
    }

    /// Whether `call` has a `call.ended`.
    pub fn ended(&self, call: &str) -> bool {
        self.ended.contains(call)
    }

    /// Calls seen in any event that have no `call.ended`.
    pub fn unended(&self) -> u64 {
        self.calls.difference(&self.ended).count() as u64
    }

    /// The outcome of `calls` calls expected to produce `events_expected`
    /// events: a call is lost when it never ended, or never appeared at all.
    pub fn outcome(&self, name: &str, calls: u64, events_expected: u64) -> Outcome {
        let appeared = self.calls.len() as u64;
        Outcome {
            name: name.to_owned(),
            calls,
            events_expected,
            events_delivered: self.delivered(),
            calls_lost: self.unended() + calls.saturating_sub(appeared),
            duplicates: self.duplicates(),
            notes: String::new(),
        }
    }
}

/// Today's date (UTC), `YYYY-MM-DD`, for results files (Howard Hinnant's
/// civil_from_days).
pub fn today() -> String {
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400) as i64;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Reads every fragment in `dir` (sorted by name).
pub fn read_fragments(dir: &Path) -> std::io::Result<Vec<Outcome>> {
    let mut out = Vec::new();
    let mut paths: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    for path in paths {
        let text = std::fs::read_to_string(&path)?;
        let value: Value = serde_json::from_str(&text).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{}: {e}", path.display()),
            )
        })?;
        let outcome = Outcome::from_json(&value).ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{}: not a scenario outcome", path.display()),
            )
        })?;
        out.push(outcome);
    }
    Ok(out)
}

/// The results file: `{"scenarios": [...]}` plus what the run was on.
pub fn report_json(outcomes: &[Outcome], machine: Value) -> Value {
    json!({
        "machine": machine,
        "scenarios": outcomes.iter().map(Outcome::to_json).collect::<Vec<_>>(),
    })
}

/// The Markdown table beside the JSON.
pub fn report_md(date: &str, outcomes: &[Outcome]) -> String {
    let mut md = format!("# Fault injection, {date}\n\n");
    md.push_str(
        "| scenario | calls | events expected | delivered | calls lost | duplicates | notes |\n",
    );
    md.push_str("|---|---:|---:|---:|---:|---:|---|\n");
    for o in outcomes {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} |",
            o.name,
            o.calls,
            o.events_expected,
            o.events_delivered,
            o.calls_lost,
            o.duplicates,
            o.notes.replace('|', "/")
        );
    }
    let whole = outcomes.iter().filter(|o| o.is_whole()).count();
    let _ = writeln!(
        md,
        "\n{whole} of {} scenarios lost nothing.",
        outcomes.len()
    );
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: &str, ty: &str, call: &str) -> Value {
        json!({"id": id, "type": ty, "data": {"call_id": call}})
    }

    #[test]
    fn a_tally_counts_distinct_ids_duplicates_and_unended_calls() {
        let mut t = Tally::default();
        for e in [
            event("1", "call.started", "a"),
            event("2", "call.ended", "a"),
            event("2", "call.ended", "a"),
            event("3", "call.started", "b"),
        ] {
            assert!(t.add(&e));
        }
        assert!(!t.add(&json!({"no": "id"})));
        assert_eq!((t.delivered(), t.duplicates(), t.unended()), (3, 1, 1));
        let o = t.outcome("x", 3, 3);
        // b never ended, and a third call never appeared at all.
        assert_eq!(o.calls_lost, 2);
        assert!(!o.is_whole());
    }

    #[test]
    fn an_outcome_survives_its_fragment_and_the_report_lists_it() {
        let o = Outcome {
            name: "n".into(),
            calls: 1,
            events_expected: 2,
            events_delivered: 2,
            calls_lost: 0,
            duplicates: 0,
            notes: "a|b".into(),
        };
        assert_eq!(Outcome::from_json(&o.to_json()), Some(o.clone()));
        let md = report_md("2026-12-06", std::slice::from_ref(&o));
        assert!(md.contains("| n | 1 | 2 | 2 | 0 | 0 | a/b |"), "{md}");
        assert!(md.contains("1 of 1 scenarios lost nothing"));
        assert_eq!(report_json(&[o], json!({}))["scenarios"][0]["name"], "n");
    }
}
