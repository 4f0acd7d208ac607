use crate::Db;
use serde_json::Value;
use std::time::{Duration, SystemTime};
use voice_gateway::{
    adapter::postgres::{PgHistory, QueueStats, QueuedHistory},
    application::{
        ports::history::{BargeInRecord, CallHistory, CallRecord, HistoryError, TurnRecord},
        session::TurnLatency,
    },
    domain::{
        CallId, TenantId,
        call::{Direction, EndReason},
    },
};

fn record(call: &str, tenant: &str) -> CallRecord {
    let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    CallRecord {
        call_id: CallId::parse(call).unwrap(),
        tenant: TenantId::parse(tenant).unwrap(),
        direction: Direction::Inbound,
        from: Some("+15551230000".into()),
        to: Some("+15559870000".into()),
        started_at: start,
        answered_at: Some(start + Duration::from_secs(1)),
        ended_at: start + Duration::from_secs(30),
        reason: EndReason::CallerHangup,
        turns: vec![TurnRecord {
            caller: Some("my card is 4111 1111 1111 1111".into()),
            agent: Some("I have 4111-1111-1111-1111, thanks".into()),
            interrupted: true,
            barge_in: None,
            latency: TurnLatency {
                stt_ms: Some(120.0),
                total_ms: Some(640.5),
                ..TurnLatency::default()
            },
        }],
    }
}

async fn turns(db: &Db, call: &str) -> Value {
    db.sql
        .query_one(
            "SELECT turns FROM call_records WHERE call_id = $1",
            &[&call],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn records_are_stored_with_card_numbers_masked_once_per_call() {
    let db = Db::fresh().await;
    db.tenant("t", true).await;
    let history = PgHistory::new(&db.cfg).unwrap();
    history.record(record("c1", "t")).await.unwrap();
    let mut again = record("c1", "t");
    again.reason = EndReason::Transferred;
    history.record(again).await.unwrap();

    let row = db
        .sql
        .query_one(
            "SELECT tenant_id, direction, from_number, to_number, outcome, reason,
                    extract(epoch FROM ended_at - started_at)::float8,
                    extract(epoch FROM answered_at - started_at)::float8
             FROM call_records",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, &str>(0), "t");
    assert_eq!(row.get::<_, &str>(1), "inbound");
    assert_eq!(row.get::<_, Option<&str>>(2), Some("+15551230000"));
    assert_eq!(row.get::<_, Option<&str>>(3), Some("+15559870000"));
    assert_eq!(
        row.get::<_, &str>(4),
        "caller_hangup",
        "the first write wins"
    );
    assert_eq!(row.get::<_, Option<&str>>(5), Some("caller_hangup"));
    assert_eq!(row.get::<_, f64>(6), 30.0);
    assert_eq!(row.get::<_, f64>(7), 1.0);

    let t = turns(&db, "c1").await;
    assert_eq!(t[0]["caller"], "my card is **** **** **** 1111");
    assert_eq!(t[0]["agent"], "I have ****-****-****-1111, thanks");
    assert_eq!(t[0]["interrupted"], true);
    assert_eq!(t[0]["latency"]["stt_ms"], 120.0);
    assert_eq!(t[0]["latency"]["total_ms"], 640.5);
    assert!(!t.to_string().contains("4111 1111"));
}

#[tokio::test]
async fn a_tenant_without_transcript_storage_keeps_figures_but_no_text() {
    let db = Db::fresh().await;
    db.tenant("private", false).await;
    let history = PgHistory::new(&db.cfg).unwrap();
    history.record(record("c2", "private")).await.unwrap();
    // A tenant only in the configuration file: stored, masked.
    history.record(record("c3", "unlisted")).await.unwrap();
    let t = turns(&db, "c2").await;
    assert_eq!(t[0].get("caller"), None);
    assert_eq!(t[0].get("agent"), None);
    assert_eq!(t[0]["latency"]["total_ms"], 640.5);
    assert_eq!(
        turns(&db, "c3").await[0]["caller"],
        "my card is **** **** **** 1111"
    );
}

#[tokio::test]
async fn an_unreachable_database_is_an_error_not_a_hang() {
    let port = vg_testkit::free_port().unwrap();
    let cfg = crate::config(&format!("postgres://postgres@127.0.0.1:{port}/none"));
    let history = PgHistory::new(&cfg).unwrap();
    let r = tokio::time::timeout(Duration::from_secs(10), history.record(record("c4", "t")))
        .await
        .expect("fails within the connect timeout");
    assert!(matches!(r, Err(HistoryError::Unavailable(_))), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_of_calls_ended_while_postgres_is_down_are_written_when_it_returns() {
    let mut db = Db::fresh().await;
    db.tenant("t", true).await;
    db.sql.batch_execute("CHECKPOINT").await.unwrap();
    let mut registry = prometheus_client::registry::Registry::default();
    let stats = QueueStats::register(&mut registry);
    let history = QueuedHistory::spawn(
        PgHistory::new(&db.cfg).unwrap(),
        Duration::from_millis(200),
        stats.clone(),
    );
    tokio::task::block_in_place(|| db.server.kill()).unwrap();
    for call in ["down-1", "down-2", "down-3"] {
        // Queued at once: the call's end does not wait for the database.
        tokio::time::timeout(Duration::from_secs(1), history.record(record(call, "t")))
            .await
            .expect("queued without waiting")
            .unwrap();
    }
    assert_eq!(stats.queued.get(), 3);
    tokio::task::block_in_place(|| db.server.restart()).unwrap();
    let sql = crate::connect(&db.server.url("test")).await;
    crate::eventually("the three records written", || async {
        sql.query_one("SELECT count(*) FROM call_records", &[])
            .await
            .is_ok_and(|r| r.get::<_, i64>(0) == 3)
    })
    .await;
    let rows = sql
        .query("SELECT call_id FROM call_records ORDER BY recorded_at", &[])
        .await
        .unwrap();
    let ids: Vec<&str> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(
        ids,
        ["down-1", "down-2", "down-3"],
        "in the order the calls ended"
    );
    assert_eq!(
        (stats.queued.get(), stats.written.get(), stats.dropped.get()),
        (0, 3, 0)
    );
}

#[tokio::test]
async fn a_record_the_server_refuses_is_dropped_not_retried_forever() {
    let db = Db::fresh().await;
    db.tenant("t", true).await;
    let mut registry = prometheus_client::registry::Registry::default();
    let stats = QueueStats::register(&mut registry);
    let history = QueuedHistory::spawn(
        PgHistory::new(&db.cfg).unwrap(),
        Duration::from_millis(200),
        stats.clone(),
    );
    let mut bad = record("bad", "t");
    // NUL is valid in Rust strings but not in a PostgreSQL text column.
    bad.from = Some("+1555\0".into());
    history.record(bad).await.unwrap();
    history.record(record("good", "t")).await.unwrap();
    crate::eventually("the good record after the bad one", || async {
        db.sql
            .query_one(
                "SELECT count(*) FROM call_records WHERE call_id = 'good'",
                &[],
            )
            .await
            .is_ok_and(|r| r.get::<_, i64>(0) == 1)
    })
    .await;
    assert_eq!(stats.dropped.get(), 1);
}

#[tokio::test]
async fn a_record_reads_back_as_stored_by_its_id_whatever_its_tenant() {
    let db = Db::fresh().await;
    db.tenant("t", true).await;
    db.tenant("private", false).await;
    let history = PgHistory::new(&db.cfg).unwrap();
    let mut sent = record("r1", "t");
    sent.reason = EndReason::Error("card 4111 1111 1111 1111 declined".into());
    sent.turns[0].barge_in = Some(BargeInRecord {
        heard_ms: 820,
        delay_ms: Some(41.25),
    });
    history.record(sent.clone()).await.unwrap();
    let id = |s: &str| CallId::parse(s).unwrap();
    let back = history.find(&id("r1")).await.unwrap().expect("found");
    assert_eq!(back, sent.masked(), "what was written, masked");
    assert_eq!(back.outcome(), "error");

    // Through the queue, a tenant without transcripts, an outbound call.
    let queued = QueuedHistory::spawn(
        PgHistory::new(&db.cfg).unwrap(),
        Duration::from_millis(200),
        QueueStats::default(),
    );
    let mut private = record("r2", "private");
    private.direction = Direction::Outbound;
    private.answered_at = None;
    queued.record(private.clone()).await.unwrap();
    crate::eventually("the queued record readable", || async {
        queued.find(&id("r2")).await.is_ok_and(|r| r.is_some())
    })
    .await;
    let back = queued.find(&id("r2")).await.unwrap().unwrap();
    assert_eq!(back, private.masked().without_transcripts());
    assert_eq!(
        back.tenant.as_str(),
        "private",
        "the caller checks the tenant"
    );
    assert_eq!(queued.find(&id("never")).await.unwrap(), None);
}

#[tokio::test]
async fn a_row_the_gateway_cannot_read_is_an_error_naming_it() {
    let db = Db::fresh().await;
    db.sql
        .batch_execute(
            "INSERT INTO call_records (call_id, tenant_id, direction, started_at, ended_at, outcome, turns)
             VALUES ('odd', 't', 'inbound', now(), now(), 'struck_by_lightning', '[]'),
                    ('odd2', 't', 'inbound', now(), now(), 'busy', '[{\"caller\": 5}]')",
        )
        .await
        .unwrap();
    let history = PgHistory::new(&db.cfg).unwrap();
    for (call, what) in [("odd", "outcome"), ("odd2", "turns")] {
        let r = history.find(&CallId::parse(call).unwrap()).await;
        match r {
            Err(HistoryError::Corrupt(e)) => assert!(e.contains(what) && e.contains(call), "{e}"),
            other => panic!("{call}: {other:?}"),
        }
    }
}
