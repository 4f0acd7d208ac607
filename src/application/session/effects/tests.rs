//! The writer's numbering: every event numbered once, in order, and the
//! stored record covering an event's number before the event goes out.

use super::*;
use crate::{
    application::ports::{
        calls::{Page, Resume},
        events::PublishError,
        history::NoHistory,
        orchestrator::BoxFuture,
        store::StoreError,
    },
    domain::{TenantId, call::Direction, events::EventType},
};
use std::{sync::Mutex, time::SystemTime};

/// What reached the store and the publisher, in order.
#[derive(Default)]
struct Log(Mutex<Vec<(&'static str, u64)>>);

impl Log {
    fn seen(&self) -> Vec<(&'static str, u64)> {
        self.0.lock().unwrap().clone()
    }
}

struct Store(Arc<Log>);
struct Events(Arc<Log>);

impl CallStore for Store {
    fn put(&self, record: CallSummary) -> BoxFuture<'_, Result<(), StoreError>> {
        let n = record.resume.map_or(0, |r| r.sequence);
        self.0.0.lock().unwrap().push(("record", n));
        Box::pin(async { Ok(()) })
    }
    fn get<'a>(
        &'a self,
        _: &'a TenantId,
        _: &'a CallId,
    ) -> BoxFuture<'a, Result<Option<CallSummary>, StoreError>> {
        Box::pin(async { Ok(None) })
    }
    fn list<'a>(
        &'a self,
        _: &'a TenantId,
        _: &'a crate::application::ports::calls::ListFilter,
    ) -> BoxFuture<'a, Result<Page, StoreError>> {
        unreachable!("not listed")
    }
    fn owned_live(&self, _: usize) -> BoxFuture<'_, Result<Vec<CallSummary>, StoreError>> {
        unreachable!("not read")
    }
}

impl EventPublisher for Events {
    fn publish(&self, event: CallEvent) -> BoxFuture<'_, Result<(), PublishError>> {
        let n = event.sequence.expect("numbered");
        self.0.0.lock().unwrap().push(("event", n));
        Box::pin(async { Ok(()) })
    }
}

fn call_id() -> CallId {
    CallId::parse("c-1").unwrap()
}

fn record() -> CallSummary {
    CallSummary {
        call_id: call_id(),
        tenant_id: TenantId::parse("acme").unwrap(),
        direction: Direction::Inbound,
        state: "active".into(),
        from: None,
        to: None,
        agent_id: None,
        agent_version: None,
        created_at: SystemTime::UNIX_EPOCH,
        answered_at: None,
        ended_at: None,
        end_reason: None,
        metadata: Default::default(),
        answered_by: None,
        resume: Some(Resume::default()),
    }
}

fn event() -> Write {
    Write::Event(CallEvent::new(
        EventType::SttTranscribed,
        call_id(),
        TenantId::parse("acme").unwrap(),
        SystemTime::UNIX_EPOCH,
        serde_json::json!({}),
    ))
}

/// Runs the writer over `batches`, each submitted at once, from `published`
/// with `taken` as the record a takeover read.
async fn run(
    published: u64,
    taken: Option<CallSummary>,
    batches: Vec<Vec<Write>>,
) -> Vec<(&'static str, u64)> {
    let log = Arc::new(Log::default());
    let mut writer = Writer {
        call_id: call_id(),
        store: Arc::new(Store(log.clone())),
        events: Arc::new(Events(log.clone())),
        history: Arc::new(NoHistory),
        numbered: published,
        covered: published,
        record: taken,
    };
    for mut batch in batches {
        writer.number(&mut batch);
        for w in batch {
            writer.apply(w).await;
        }
    }
    log.seen()
}

/// No number twice, none skipped, and each event covered by a record
/// written before it (once a record exists).
fn check(seen: &[(&'static str, u64)], first: u64) {
    let events: Vec<u64> = seen
        .iter()
        .filter(|(k, _)| *k == "event")
        .map(|(_, n)| *n)
        .collect();
    let want: Vec<u64> = (first..first + events.len() as u64).collect();
    assert_eq!(events, want, "{seen:?}");
    let mut covered = None;
    for (kind, n) in seen {
        match *kind {
            "record" => covered = Some(*n),
            _ => {
                if let Some(c) = covered {
                    assert!(
                        *n <= c,
                        "event {n} went out with the record at {c}: {seen:?}"
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn events_are_numbered_from_one_and_covered_by_the_record_first() {
    let rec = || Write::Record(record());
    let seen = run(
        0,
        None,
        vec![
            vec![event()],
            vec![rec(), event(), event()],
            vec![event()],
            vec![event(), rec(), event()],
        ],
    )
    .await;
    check(&seen, 1);
    assert_eq!(
        seen,
        [
            // No record yet: nothing a takeover could read.
            ("event", 1),
            ("record", 3),
            ("event", 2),
            ("event", 3),
            // The last record again, covering the next number.
            ("record", 4),
            ("event", 4),
            ("record", 6),
            ("event", 5),
            ("record", 6),
            ("event", 6),
        ]
    );
}

#[tokio::test]
async fn a_taken_over_call_goes_on_from_its_records_number() {
    let mut taken = record();
    taken.resume.as_mut().unwrap().sequence = 41;
    let seen = run(41, Some(taken), vec![vec![event()], vec![event(), event()]]).await;
    check(&seen, 42);
    assert_eq!(seen[0], ("record", 42), "covered before the first event");
}
